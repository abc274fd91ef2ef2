"""Following and For You feeds: candidate generation, learned ranking, re-ranking."""
