"""The search benchmark's data: a deterministic catalogue written into a bench database with
COPY, and the queries made from its real rows (bench/search_speed.py drives both).

Sizes at full scale (issue 13): 1,000,000 accounts, 1,000,000 video captions, 100,000
hashtags, 50,000 sounds. Everything comes from one seeded `random.Random` in a fixed order,
so the same seed gives the same texts (ids are minted by the database). Rows are streamed
to PostgreSQL in COPY chunks of 20,000, so memory stays flat apart from the id arrays and the
set of handles that keeps them unique (about 150 MB at full size).

Captions are multilingual: English, Spanish, Portuguese (with their accents), Japanese
(written without spaces) and Arabic; each mixes common words of its language with a long
tail of generated words (Zipf-distributed, 30,000 per language), 0-3 hashtags and sometimes
an emoji; 70 % of the videos use one of the sounds. A few accounts and posts are not
searchable by a signed-out viewer (private, unverified e-mail, minors' age gate, drafts,
scheduled, friends-only, age-restricted), as in a real catalogue; the queries are made only
from entries a signed-out viewer may find.

Runs inside Django (the worker processes of bench/search_speed.py set it up)."""

from __future__ import annotations

import bisect
import io
import itertools
import json
import random
import time
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

SIZES_FULL = {"accounts": 1_000_000, "videos": 1_000_000, "hashtags": 100_000,
              "sounds": 50_000}
SIZES_SMALL = {"accounts": 20_000, "videos": 20_000, "hashtags": 4_000, "sounds": 2_000}
EMAIL_DOMAIN = "bench-search.local"
META_TABLE = "bench_search_meta"  # not a Django model: this database's own bookkeeping

# --- vocabulary ------------------------------------------------------------------------------

def _words(text: str) -> list[str]:
    return text.split()


COMMON = {
    "en": _words("the my this day love life video new best time today funny cat dog food recipe "
           "dance music song summer beach travel workout gym morning night coffee friends "
           "family baby challenge tutorial makeup outfit fashion style home kitchen garden game "
           "football soccer basketball art drawing painting photo city street car bike nature "
           "sunset mountain rain snow party birthday wedding school study tips hack easy quick "
           "homemade healthy vegan pizza pasta chocolate cake cookie bread breakfast lunch "
           "dinner weekend vlog story prank reaction review unboxing skincare hair nails "
           "routine motivation"),
    "es": _words("el la mi día amor vida vídeo nuevo mejor hoy gracioso gato perro comida receta "
           "baile música canción verano playa viaje gimnasio mañana noche café amigos familia "
           "bebé reto tutorial maquillaje ropa moda casa cocina jardín fútbol arte dibujo "
           "ciudad calle coche naturaleza atardecer montaña lluvia fiesta cumpleaños boda "
           "escuela consejos fácil rápido casero saludable pastel galleta pan desayuno almuerzo "
           "cena semana historia broma reacción reseña rutina cabello uñas corazón niños "
           "abuela tortilla paella guitarra"),
    "pt": _words("o a meu dia amor vida vídeo novo melhor hoje engraçado gato cachorro comida "
           "receita dança música verão praia viagem academia manhã noite café amigos família "
           "bebê desafio maquiagem roupa moda casa cozinha jardim futebol arte desenho cidade "
           "rua carro natureza pôr sol montanha chuva festa aniversário casamento escola dicas "
           "fácil rápido caseiro saudável bolo biscoito pão almoço jantar semana história "
           "pegadinha reação coração saudade feijoada açaí brigadeiro violão samba"),
    "ja": _words("今日 猫 犬 料理 レシピ ダンス 音楽 夏 海 旅行 朝 夜 コーヒー 友達 "
           "家族 赤ちゃん 挑戦 "
           "メイク 服 ファッション 家 台所 サッカー 絵 写真 街 車 自然 夕日 山 雨 雪 誕生日 結婚式 "
           "学校 勉強 簡単 手作り 健康 ケーキ パン 朝ごはん 昼ごはん 晩ごはん 週末 日常 面白い "
           "可愛い 美味しい 東京 大阪 桜 ラーメン 寿司 お弁当 カフェ ゲーム アニメ 歌ってみた "
           "踊ってみた"),
    "ar": _words("اليوم حب حياة فيديو جديد أفضل مضحك قطة كلب طعام وصفة رقص موسيقى أغنية صيف شاطئ "
           "سفر رياضة صباح ليل قهوة أصدقاء عائلة طفل تحدي مكياج أزياء بيت مطبخ حديقة كرة فن "
           "رسم صورة مدينة شارع سيارة طبيعة غروب جبل مطر حفلة عيد ميلاد زفاف مدرسة نصائح سهل "
           "سريع صحي كعكة خبز فطور غداء عشاء الأسبوع قصة رمضان كنافة شاي"),
}
LANGS = ("en", "es", "pt", "ja", "ar")
LANG_WEIGHTS = (40, 20, 15, 12, 13)
SYLLABLES = {
    "en": "ka lo mi ter son bri dge ly ver pan dor ri tal quin ber sha wen ton mar gle "
          "fen cor vi nel ast rum",
    "es": "ca la mi to rre ña que llo gar cia mo ro sa ven tu ra du ce pe lo ma rí cio nes "
          "ba tó",
    "pt": "ção lha nho ca me ri to sa mu pe ro de ba fei jão ra vi lu bo ci ma gu ta po",
}
KANA = ("アカサタナハマヤラワキシチニヒミリクスツヌフムユルケセテネヘメレコソトノホモヨロン"
        "ガギグゲゴザジズゼゾダデドバビブベボパピプペポ")
KANJI = "山川田中花鳥風月雪空海森光星夢愛心音色水火木金土日本語新古春秋冬道"
ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
LATIN = "abcdefghijklmnopqrstuvwxyz"
EMOJI = ("😂", "🔥", "❤️", "✨", "🥰", "🎶", "😍", "💯", "🙌", "🌞")
TAIL_SIZE = 30_000

FIRST = _words("emma olivia ava sophia mia amelia harper evelyn abigail ella liam noah oliver "
         "elijah james william benjamin lucas henry alexander mason ethan daniel jacob logan "
         "jackson sebastian jack aiden owen samuel matthew joseph charli addison bella chloe "
         "grace zoe lily hannah nora riley madison luna camila valentina isabella sofia "
         "lucia martina maria paula daniela gabriela mateo santiago diego alejandro javier "
         "carlos miguel pablo andres juan ana beatriz joao pedro gustavo rafael larissa "
         "juliana fernanda thiago bruno leticia")
LAST = _words("smith johnson williams brown jones miller davis wilson anderson taylor thomas moore "
        "martin jackson thompson white harris clark lewis robinson walker young allen king "
        "wright scott green baker adams nelson hill campbell mitchell roberts carter "
        "phillips evans turner torres parker collins edwards stewart morris murphy cook "
        "rogers damelio garcia rodriguez martinez hernandez lopez gonzalez perez sanchez "
        "ramirez flores rivera gomez diaz reyes morales jimenez ruiz alvarez romero silva "
        "santos oliveira souza lima pereira costa ferreira almeida carvalho ribeiro")
JA_FIRST = (("さくら", "sakura"), ("陽菜", "hina"), ("結衣", "yui"), ("美咲", "misaki"),
            ("翔太", "shota"), ("大翔", "hiroto"), ("蓮", "ren"), ("悠真", "yuma"),
            ("葵", "aoi"), ("陽翔", "haruto"), ("芽依", "mei"), ("湊", "minato"))
JA_LAST = (("田中", "tanaka"), ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"),
           ("渡辺", "watanabe"), ("伊藤", "ito"), ("山本", "yamamoto"), ("中村", "nakamura"),
           ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"))
AR_FIRST = (("محمد", "mohamed"), ("أحمد", "ahmed"), ("فاطمة", "fatima"), ("علي", "ali"),
            ("مريم", "mariam"), ("يوسف", "youssef"), ("نور", "nour"), ("عمر", "omar"),
            ("ليلى", "layla"), ("خالد", "khaled"), ("سارة", "sara"), ("حسن", "hassan"))
AR_LAST = (("الحسن", "alhassan"), ("منصور", "mansour"), ("حداد", "haddad"),
           ("سعيد", "saeed"), ("العلي", "alali"), ("الخطيب", "alkhatib"),
           ("ناصر", "nasser"), ("عثمان", "othman"), ("يوسف", "yousef"), ("الشامي", "alshami"))


def _tail_word(rng: random.Random, lang: str) -> str:
    if lang == "ja":
        pool = KANA if rng.random() < 0.6 else KANJI
        return "".join(rng.choice(pool) for _ in range(rng.randint(2, 4)))
    if lang == "ar":
        return "".join(rng.choice(ARABIC) for _ in range(rng.randint(4, 9)))
    syl = SYLLABLES[lang].split()
    return "".join(rng.choice(syl) for _ in range(rng.randint(2, 5)))


class Vocabulary:
    """Per language: common words, and a Zipf-distributed tail of generated words."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed * 7919 + 1)
        self.tail: dict[str, list[str]] = {}
        for lang in LANGS:
            seen: set[str] = set(COMMON[lang])
            words: list[str] = []
            while len(words) < TAIL_SIZE:
                w = _tail_word(rng, lang)
                if w not in seen and len(w) >= 2:
                    seen.add(w)
                    words.append(w)
            self.tail[lang] = words
        # Zipf (s = 1) cumulative weights over the tail ranks.
        acc, total = [], 0.0
        for rank in range(1, TAIL_SIZE + 1):
            total += 1.0 / rank
            acc.append(total)
        self._cum = acc
        self.common_sets = {lang: frozenset(COMMON[lang]) for lang in LANGS}

    def tail_word(self, rng: random.Random, lang: str) -> str:
        x = rng.random() * self._cum[-1]
        return self.tail[lang][bisect.bisect_left(self._cum, x)]


def zipf_index(rng: random.Random, n: int, skew: float = 2.5) -> int:
    """An index in [0, n) with low indices more likely (popular entries come first)."""
    return min(n - 1, int(n * rng.random() ** skew))


# --- COPY ------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
              chunk: int = 20_000) -> int:
    """Stream rows into `table` with COPY (text format; the generated texts never hold a tab,
    a newline or a backslash)."""
    from django.db import connection

    n = 0
    quoted = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        raw = cursor.connection  # psycopg 3
        with raw.cursor().copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
            buf = io.StringIO()
            for row in rows:
                buf.write("\t".join(_cell(v) for v in row))
                buf.write("\n")
                n += 1
                if n % chunk == 0:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
    return n


def mint_ids(count: int) -> array[int]:
    """`count` snowflake ids from the database's own generator, 100,000 per round trip."""
    from apps.core.ids import allocate_ids

    out: array[int] = array("q")
    for start in range(0, count, 100_000):
        out.extend(allocate_ids(min(100_000, count - start)))
    return out


# --- the catalogue ---------------------------------------------------------------------------


def meta_get() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} "
                       "(key text PRIMARY KEY, value text NOT NULL)")
        cursor.execute(f"SELECT key, value FROM {META_TABLE}")
        return dict(cursor.fetchall())


def meta_set(**values: object) -> None:
    from django.db import connection

    meta_get()
    with connection.cursor() as cursor:
        for key, value in values.items():
            cursor.execute(f"INSERT INTO {META_TABLE} (key, value) VALUES (%s, %s) "
                           "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                           [key, json.dumps(value)])


def seed(sizes: dict[str, int], seed_value: int, say: Callable[[str], None]) -> None:
    """Write the whole catalogue into the (empty) current database."""
    from django.db import connection, transaction

    from apps.accounts.usernames import skeleton

    started = time.monotonic()

    def log(what: str) -> None:
        say(f"[{time.monotonic() - started:7.1f}s] {what}")

    rng = random.Random(seed_value)
    vocab = Vocabulary(seed_value)
    now = datetime.now(UTC).replace(microsecond=0)
    iso = now.isoformat()
    n_acc, n_vid = sizes["accounts"], sizes["videos"]
    n_tag, n_snd = sizes["hashtags"], sizes["sounds"]
    meta_set(complete=False, sizes=sizes, seed=seed_value)

    # --- hashtags: compound words, unique (case-insensitively) -----------------------------
    tag_ids = mint_ids(n_tag)
    tag_names: list[str] = []
    seen: set[str] = set()
    while len(tag_names) < n_tag:
        lang = rng.choices(LANGS, LANG_WEIGHTS)[0]
        parts = [rng.choice(COMMON[lang]) if rng.random() < 0.5
                 else vocab.tail_word(rng, lang) for _ in range(rng.randint(1, 3))]
        name = "".join(parts)
        if rng.random() < 0.1:
            name += str(rng.choice((2024, 2025, 2026, 1, 2, 3, 10, 100)))
        if name.lower() in seen or len(name) > 50:
            continue
        seen.add(name.lower())
        tag_names.append(name)
    del seen
    copy_rows("content_hashtag", ("id", "name", "posts_count", "created_at"),
              ((tag_ids[i], tag_names[i], 0, iso) for i in range(n_tag)))
    log(f"{n_tag:,} hashtags")

    # --- sounds: library tracks (title, artist) ------------------------------------------------
    snd_ids = mint_ids(n_snd)

    def sound_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(n_snd):
            lang = rng.choices(LANGS, LANG_WEIGHTS)[0]
            words = [rng.choice(COMMON[lang]) if rng.random() < 0.5
                     else vocab.tail_word(rng, lang) for _ in range(rng.randint(1, 4))]
            sep = "" if lang == "ja" else " "
            title = sep.join(words)
            title = title[:1].upper() + title[1:]
            if lang == "ja":
                artist = rng.choice(JA_LAST)[0] + rng.choice(JA_FIRST)[0]
            elif lang == "ar":
                artist = f"{rng.choice(AR_FIRST)[0]} {rng.choice(AR_LAST)[0]}"
            elif rng.random() < 0.5:
                artist = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
            else:
                artist = " ".join(vocab.tail_word(rng, lang).title()
                                  for _ in range(rng.randint(1, 2)))
            taken_down = rng.random() < 0.005
            yield (snd_ids[i], iso, iso, "library", title[:200], artist[:200], "",
                   rng.randint(5_000, 60_000), "", True, "", "[]", '["posts"]', None,
                   taken_down, 0, None, None, None)

    copy_rows("content_sound", (
        "id", "created_at", "updated_at", "kind", "title", "artist", "cover", "duration_ms",
        "audio_file", "allow_reuse", "rights_holder", "territories", "allowed_uses",
        "licence_expires_at", "is_taken_down", "posts_count", "original_owner_id",
        "source_asset_id", "muted_at"), sound_rows())
    log(f"{n_snd:,} sounds")

    # --- accounts and their e-mail addresses -------------------------------------------------
    acc_ids = mint_ids(n_acc)
    handles: set[str] = set()
    verified_email = bytearray(n_acc)

    def account_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(n_acc):
            r = rng.random()
            if r < 0.08:
                (f_text, f_rom), (l_text, l_rom) = rng.choice(JA_FIRST), rng.choice(JA_LAST)
                display, lang = f"{l_text} {f_text}", "ja"
            elif r < 0.16:
                (f_text, f_rom), (l_text, l_rom) = rng.choice(AR_FIRST), rng.choice(AR_LAST)
                display, lang = f"{f_text} {l_text}", "ar"
            else:
                lang = rng.choices(("en", "es", "pt"), (60, 25, 15))[0]
                f_rom = rng.choice(FIRST)
                l_rom = (rng.choice(LAST) if rng.random() < 0.5
                         else vocab.tail_word(rng, lang if lang != "en" else "en"))
                l_rom = unicodedata.normalize("NFKD", l_rom).encode("ascii", "ignore").decode()
                display = f"{f_rom.title()} {l_rom.title()}"
                if rng.random() < 0.05:
                    display += " " + rng.choice(EMOJI)
            style = rng.random()
            if style < 0.3:
                handle = f"{f_rom}{l_rom}"
            elif style < 0.5:
                handle = f"{f_rom}_{l_rom}"
            elif style < 0.6:
                handle = f"{f_rom}.{l_rom}"
            elif style < 0.85:
                handle = f"{f_rom}{l_rom}{rng.randint(1, 9999)}"
            else:
                handle = f"{f_rom}_{vocab.tail_word(rng, 'en')}"
            handle = handle[:24]
            while handle.lower() in handles:
                handle = f"{handle[:20]}{rng.randint(0, 9999)}"
            handles.add(handle.lower())
            popular = i < n_acc // 1000
            followers = int(2_000_000 / (i + 1) ** 0.7 * rng.uniform(0.5, 1.5))
            verified = (popular and rng.random() < 0.5) or rng.random() < 0.002
            private = rng.random() < 0.03
            minor = rng.random() < 0.02
            verified_email[i] = 0 if rng.random() < 0.02 else 1
            joined = (now - timedelta(days=rng.uniform(1, 1500))).isoformat()
            yield ("!bench-unusable", None, False, handle, "", "", False, True, joined,
                   acc_ids[i], f"u{i}@{EMAIL_DOMAIN}", "2012-06-01" if minor else "1995-03-04",
                   display, "", "[]", "", "{}", private, verified, None, None, None,
                   followers, 0, skeleton(handle), "US", lang)

    copy_rows("accounts_user", (
        "password", "last_login", "is_superuser", "username", "first_name", "last_name",
        "is_staff", "is_active", "date_joined", "id", "email", "date_of_birth", "display_name",
        "bio", "links", "avatar", "avatar_sizes", "is_private", "is_verified",
        "username_changed_at", "deactivated_at", "deletion_scheduled_for", "followers_count",
        "following_count", "username_skeleton", "country", "language"), account_rows())
    handles.clear()
    log(f"{n_acc:,} accounts")
    copy_rows("account_emailaddress", ("email", "verified", "primary", "user_id"),
              ((f"u{i}@{EMAIL_DOMAIN}", bool(verified_email[i]), True, acc_ids[i])
               for i in range(n_acc)))
    log(f"{n_acc:,} e-mail addresses")

    # --- videos: assets, posts, their hashtags ---------------------------------------------------
    asset_ids = mint_ids(n_vid)
    post_ids = mint_ids(n_vid)
    log("ids minted")
    author_of = array("q", bytes(8 * n_vid))
    post_tags: list[tuple[int, int]] = []  # flushed per chunk

    def post_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(n_vid):
            author = acc_ids[zipf_index(rng, n_acc, 1.6)]
            author_of[i] = author
            lang = rng.choices(LANGS, LANG_WEIGHTS)[0]
            words = [rng.choice(COMMON[lang]) for _ in range(rng.randint(2, 6))]
            words += [vocab.tail_word(rng, lang) for _ in range(rng.randint(2, 4))]
            rng.shuffle(words)
            text = ("" if lang == "ja" else " ").join(words)
            tags: list[int] = []
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
                t = zipf_index(rng, n_tag, 2.0)
                if t not in tags:
                    tags.append(t)
            if tags:
                text += " " + " ".join(f"#{tag_names[t]}" for t in tags)
            if rng.random() < 0.15:
                text += " " + rng.choice(EMOJI)
            entities = json.dumps([{"type": "hashtag", "name": tag_names[t].lower(),
                                    "text": f"#{tag_names[t]}", "start": 0, "end": 0}
                                   for t in tags], ensure_ascii=False)
            for t in tags:
                post_tags.append((post_ids[i], tag_ids[t]))
            r = rng.random()
            status = ("draft" if r < 0.01 else "scheduled" if r < 0.02
                      else "removed" if r < 0.025 else "published")
            visibility = "friends" if rng.random() < 0.01 else "public"
            published = (now - timedelta(seconds=rng.uniform(60, 365 * 86400))).isoformat()
            sound = snd_ids[zipf_index(rng, n_snd, 2.0)] if rng.random() < 0.7 else None
            views = int(5_000_000 * rng.random() ** 12)
            yield (post_ids[i], published, published, text[:2200], lang, visibility, status,
                   "everyone", True, True, True, None,
                   published if status != "draft" else None, views // 20, 0, 0, views, 0,
                   asset_ids[i], author, entities, None, None, "keep", None, sound,
                   rng.random() < 0.02, False, 1, "", "", "", "")

    def asset_rows(start: int, count: int) -> Iterator[tuple[Any, ...]]:
        for i in range(start, start + count):
            yield (asset_ids[i], iso, iso, "ready", "", 15_000, 1080, 1920, author_of[i],
                   "video/mp4", 30.0, "{}", iso, "{}", None, 100, iso, None, 0, 0, None, 0, "",
                   "bulk", None, None)

    post_cols = ("id", "created_at", "updated_at", "caption", "language", "visibility",
                 "status", "comment_policy", "allow_duet", "allow_stitch", "allow_download",
                 "scheduled_for", "published_at", "likes_count", "comments_count",
                 "shares_count", "views_count", "favourites_count", "asset_id", "author_id",
                 "caption_entities", "cover_time_ms", "pinned_at", "sound_mix",
                 "original_sound_id", "sound_id", "age_restricted", "limited_reach",
                 "public_version", "derived_kind", "branded_partner", "branded_source",
                 "branded_category")
    asset_cols = ("id", "created_at", "updated_at", "state", "state_reason", "duration_ms",
                  "width", "height", "owner_id", "declared_content_type", "frame_rate",
                  "outputs", "playable_at", "probe", "processing_started_at", "progress",
                  "ready_at", "upload_expires_at", "upload_length", "upload_offset",
                  "uploaded_at", "s3_part_size", "s3_upload_id", "priority", "queued_at",
                  "requeued_at")
    # The posts reference assets (FK, deferred): both go in one transaction, in chunks of
    # 100,000 posts so that the hashtag pairs held in memory stay small.
    chunk = 100_000
    rows = post_rows()
    for start in range(0, n_vid, chunk):
        count = min(chunk, n_vid - start)
        with transaction.atomic():
            copy_rows("content_post", post_cols, itertools.islice(rows, count))
            copy_rows("media_mediaasset", asset_cols, asset_rows(start, count))
            copy_rows("content_posthashtag", ("id", "post_id", "hashtag_id"),
                      ((pid, p, h) for pid, (p, h) in zip(mint_ids(len(post_tags)), post_tags,
                                                          strict=True)))
        post_tags.clear()
        log(f"{start + count:,} videos")

    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE content_hashtag h SET posts_count = c.n
            FROM (SELECT hashtag_id, count(*) n FROM content_posthashtag GROUP BY hashtag_id) c
            WHERE h.id = c.hashtag_id""")
        cursor.execute("""
            UPDATE content_sound s SET posts_count = c.n
            FROM (SELECT sound_id, count(*) n FROM content_post WHERE sound_id IS NOT NULL
                  GROUP BY sound_id) c
            WHERE s.id = c.sound_id""")
        cursor.execute("ANALYZE")
    meta_set(complete=True, sizes=sizes, seed=seed_value, seeded_at=iso,
             seconds=round(time.monotonic() - started, 1))
    log("counters and ANALYZE done")



# --- queries from real entries ---------------------------------------------------------------

_WORD_RE = None


def bench_norm(text: str) -> str:
    """Case and accent folding for judging answers (independent of the engines' own):
    NFKC, casefold, Latin accents dropped (Japanese marks kept)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    base = ""
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            if base and ord(base) < 0x0530:
                continue
        else:
            base = ch
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def bench_words(text: str) -> list[str]:
    import re

    global _WORD_RE
    if _WORD_RE is None:
        _WORD_RE = re.compile(r"\w+")
    return _WORD_RE.findall(bench_norm(text))


def is_cjk(text: str) -> bool:
    return any(0x3040 <= ord(c) <= 0x9FFF for c in text)


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def budget(word: str) -> int:
    """Typos a word of this length may carry (Meilisearch's default): 1 from 5, 2 from 9."""
    n = len(word)
    return 0 if n < 5 else 1 if n < 9 else 2


def with_typos(rng: random.Random, word: str, typos: int) -> str | None:
    """`word` with exactly `typos` substitutions/insertions/deletions, none on the first
    character, or None when the word cannot carry them."""
    if is_cjk(word) or budget(word) < typos:
        return None
    alphabet = ARABIC if any("\u0600" <= c <= "\u06ff" for c in word) else LATIN
    folded = bench_norm(word)
    for _ in range(20):
        out = word
        for _ in range(typos):
            op = rng.choice("sdi")
            pos = rng.randint(1, len(out) - (0 if op == "i" else 1))
            if op == "s":
                out = out[:pos] + rng.choice(alphabet) + out[pos + 1:]
            elif op == "d":
                out = out[:pos] + out[pos + 1:]
            else:
                out = out[:pos] + rng.choice(alphabet) + out[pos:]
        # The typed word must carry its typos too (Meilisearch counts the query word).
        if levenshtein(folded, bench_norm(out)) == typos and budget(out) >= typos:
            return out
    return None


def _typo_in(rng: random.Random, words: list[str], typos: int,
             split: str | None = None) -> list[str] | None:
    """`words` with `typos` typos in one word long enough (parts split on `split` chars
    count as words, as in handles)."""
    import re

    spots: list[tuple[int, int, int]] = []  # (word index, part start, part end)
    for i, word in enumerate(words):
        pattern = re.compile(r"[^_.\d]+") if split else re.compile(r".+")
        for m in pattern.finditer(word):
            if budget(m.group()) >= typos and not is_cjk(m.group()):
                spots.append((i, m.start(), m.end()))
    if not spots:
        return None
    i, start, end = rng.choice(spots)
    changed = with_typos(rng, words[i][start:end], typos)
    if changed is None:
        return None
    out = list(words)
    out[i] = words[i][:start] + changed + words[i][end:]
    return out


def _prefix_of(rng: random.Random, words: list[str], sep: str = " ") -> str | None:
    last = words[-1]
    low = 2 if len(words) > 1 else 3
    if len(last) - 1 < low:
        return None
    cut = rng.randint(low, len(last) - 1)
    return sep.join([*words[:-1], last[:cut]])


def _maybe_fold(rng: random.Random, text: str) -> str:
    """Some exact queries are typed in lower case without accents (the same words)."""
    if rng.random() < 0.3 and not is_cjk(text):
        return "".join(c for c in unicodedata.normalize("NFD", text.lower())
                       if not unicodedata.combining(c) or "\u0600" <= c <= "\u06ff")
    return text


TARGET_SQL = {
    # Entries a signed-out viewer may find (the rules of content.selectors/social.selectors).
    "account": f"""
        SELECT u.id FROM accounts_user u
        WHERE u.email LIKE '%%@{EMAIL_DOMAIN}' AND u.is_active AND u.deactivated_at IS NULL
          AND u.deletion_scheduled_for IS NULL AND NOT u.is_private
          AND u.date_of_birth < '2000-01-01'
          AND EXISTS (SELECT 1 FROM account_emailaddress e WHERE e.user_id = u.id
                      AND e.verified)
        ORDER BY u.id""",
    "video": f"""
        SELECT p.id FROM content_post p JOIN accounts_user u ON u.id = p.author_id
        WHERE p.status = 'published' AND p.visibility = 'public' AND NOT p.age_restricted
          AND u.email LIKE '%%@{EMAIL_DOMAIN}' AND u.is_active AND NOT u.is_private
          AND u.deactivated_at IS NULL AND u.deletion_scheduled_for IS NULL
          AND u.date_of_birth < '2000-01-01'
          AND EXISTS (SELECT 1 FROM account_emailaddress e WHERE e.user_id = u.id
                      AND e.verified)
        ORDER BY p.id""",
    "sound": "SELECT id FROM content_sound WHERE NOT is_taken_down ORDER BY id",
    "hashtag": "SELECT id FROM content_hashtag WHERE posts_count > 0 ORDER BY id",
}
TEXT_SQL = {
    "account": "SELECT id, username, display_name FROM accounts_user WHERE id = ANY(%s)",
    "video": """
        SELECT p.id, p.caption, coalesce(s.title, ''), coalesce(s.artist, ''),
               coalesce((SELECT string_agg(h.name, ' ') FROM content_posthashtag ph
                         JOIN content_hashtag h ON h.id = ph.hashtag_id
                         WHERE ph.post_id = p.id), '')
        FROM content_post p LEFT JOIN content_sound s ON s.id = p.sound_id
        WHERE p.id = ANY(%s)""",
    "sound": "SELECT id, title, artist FROM content_sound WHERE id = ANY(%s)",
    "hashtag": "SELECT id, name FROM content_hashtag WHERE id = ANY(%s)",
}


def texts_of(kind: str, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    from django.db import connection

    out: dict[int, tuple[str, ...]] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 5000):
            cursor.execute(TEXT_SQL[kind], [list(ids[start:start + 5000])])
            for row in cursor.fetchall():
                out[row[0]] = tuple(row[1:])
    return out


def _content_words(caption: str) -> list[str]:
    return [w for w in caption.split() if not w.startswith("#") and any(c.isalpha() for c in w)]


def _make_query(rng: random.Random, kind: str, qkind: str,
                text: tuple[str, ...]) -> tuple[str, dict[str, Any]] | None:
    """(query, rule) for one entry, or None when it cannot make this kind of query."""
    typos = {"typo1": 1, "typo2": 2}.get(qkind, 0)
    rule: dict[str, Any]
    if kind == "account":
        handle, display = text
        use_handle = rng.random() < 0.5
        source = handle if use_handle else display
        words = [source] if use_handle else [w for w in display.split()
                                             if any(c.isalnum() for c in w)]
        if not words:
            return None
        rule = {"field": 0 if use_handle else 1, "norm": bench_norm(" ".join(words))}
        sep = " "
    elif kind == "sound":
        title, artist = text
        words = title.split()
        use_artist = len(words) < 2 and not is_cjk(title) and rng.random() < 0.5
        if use_artist:
            words += artist.split()
        rule = {"title": bench_norm(title), "artist": bench_norm(artist) if use_artist else None}
        sep = " "
    elif kind == "hashtag":
        words = [text[0]]
        rule = {"norm": bench_norm(text[0])}
        sep = " "
    else:
        caption = text[0]
        body = _content_words(caption)
        if not body:
            return None
        if is_cjk(body[0]):
            if typos:
                return None
            run = body[0]
            if len(run) < 4:
                return None
            n = rng.randint(4, min(8, len(run)))
            start = rng.randint(0, len(run) - n)
            words = [run[start:start + n]]
            rule = {"substr": bench_norm(words[0])}
        else:
            # The caption's rarest words identify it: the generated (tail) words first.
            ranked = sorted(set(body), key=lambda w: (len(w) < 5, -len(w), w))
            words = ranked[:3]
            rng.shuffle(words)
            rule = {"words": [w for ws in words for w in bench_words(ws)]}
        sep = " "
    if qkind == "exact":
        return _maybe_fold(rng, sep.join(words)), rule
    if qkind == "prefix":
        made = _prefix_of(rng, words, sep)
        return (made, rule) if made else None
    changed = _typo_in(rng, words, typos, split="_." if kind == "account" else None)
    return (sep.join(changed), rule) if changed else None


def make_queries(per_cell: int, seed_value: int) -> list[dict[str, Any]]:
    """`per_cell` queries per kind x query kind, from entries a signed-out viewer may find."""
    from django.db import connection

    rng = random.Random(seed_value * 31 + 5)
    queries: list[dict[str, Any]] = []
    for kind in ("account", "video", "sound", "hashtag"):
        with connection.cursor() as cursor:
            cursor.execute(TARGET_SQL[kind])
            ids = [row[0] for row in cursor.fetchall()]
        picks = rng.sample(ids, min(len(ids), per_cell * 4 * 4))
        texts = texts_of(kind, picks)
        pool = iter(picks)
        for qkind in ("exact", "typo1", "typo2", "prefix"):
            made = 0
            for target in pool:
                q = _make_query(rng, kind, qkind, texts[target])
                if q is None or not q[0].strip():
                    continue
                queries.append({"kind": kind, "qkind": qkind, "q": q[0], "target": target,
                                "rule": q[1], "prefix": qkind == "prefix"})
                made += 1
                if made == per_cell:
                    break
    return queries


def judge(query: dict[str, Any], hit_id: int, text: tuple[str, ...] | None) -> bool:
    """Is this hit the intended entry, or one the query describes as well?"""
    if hit_id == query["target"]:
        return True
    if text is None:
        return False
    rule, kind = query["rule"], query["kind"]
    if query["prefix"]:
        return _judge_prefix(query["q"], kind, text)
    if kind == "account":
        source = text[rule["field"]]
        if rule["field"] == 1:
            source = " ".join(w for w in source.split() if any(c.isalnum() for c in w))
        return bool(bench_norm(source) == rule["norm"])
    if kind == "sound":
        return bool(bench_norm(text[0]) == rule["title"] and (
            rule["artist"] is None or bench_norm(text[1]) == rule["artist"]))
    if kind == "hashtag":
        return bool(bench_norm(text[0]) == rule["norm"])
    if "substr" in rule:
        return bool(rule["substr"] in bench_norm(text[0]).replace(" ", ""))
    have = set(bench_words(" ".join(text)))
    return all(w in have for w in rule["words"])


def _judge_prefix(q: str, kind: str, text: tuple[str, ...]) -> bool:
    """As you type, any entry that the typed text begins (a name, a title) or whose words
    hold every typed word, the last one as a prefix (captions), answers it as well."""
    typed = bench_norm(q)
    if kind in ("account", "sound", "hashtag"):
        return any(bench_norm(t).startswith(typed) for t in text[:2])
    words = bench_words(q)
    if not words:
        return False
    joined = bench_norm(" ".join(text))
    if is_cjk(q):
        return typed in joined.replace(" ", "")
    have = set(bench_words(joined))
    return all(w in have for w in words[:-1]) and any(h.startswith(words[-1]) for h in have)
