"""Automated detection: classifiers, perceptual and audio hash matching, the policy engine."""
