"""What a value looks like: placeholder, reference, identifier, or a generated credential.

The scanner finds candidates; these predicates decide. They are the only place where "random enough" is
defined, so the context rules, the token rules and the lone-token rule agree on it.
"""

from __future__ import annotations

import base64
import math
import re
from collections import Counter

from .guard import first_char_guard

PLACEHOLDER_RE = re.compile(r"\[REDACTED:[A-Z0-9_]{1,64}\]")


def wordset(words: str) -> frozenset[str]:
    """A set of space-separated words (long vocabularies stay readable)."""
    return frozenset(words.split())


def placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    n = len(value)
    counts = Counter(value).values()
    # Each distinct count's term computed once (a token's counts are mostly 1 and 2), summed in the same order.
    terms = {c: c / n * math.log2(c / n) for c in set(counts)}
    return -sum(map(terms.__getitem__, counts))


# --- placeholders and references --------------------------------------------------------------------------

# Words that mark documentation examples and templates, not credentials (`sk-your-key-here`, `AKIA...EXAMPLE`).
_PLACEHOLDER_WORDS_RE = re.compile(
    r"(?i)example|your[_-]?(?:own|api|access|secret|token|key|pass|app|client|org|personal)|placeholder|changeme"
    r"|change[_-]me|replace[_-]?(?:me|with|this)|dummy|fake|insert[_-]|enter[_-]?your|redacted|xxxxx|\*\*\*"
    r"|\.\.\.|<[a-z_ -]{2,40}>|_here\b|-here\b|notreal|not[_-]a[_-]real|sample[_-]?(?:key|token|secret)"
)
# (Searched in every value judged: a guard skips the positions where no word can start, 6 us -> 1 us a value.)
_PLACEHOLDER_WORDS_RE = first_char_guard(_PLACEHOLDER_WORDS_RE)
_SEQUENTIAL = ("0123456", "1234567", "2345678", "3456789", "abcdefg", "bcdefgh", "ABCDEFG", "9876543")
_BENIGN_LITERALS = wordset(
    "true false none null nil nan undefined yes no on off required optional empty default unset str bytes int "
    "float bool dict list tuple any object union secretstr secretbytes literal mapping sequence callable "
    "string number boolean password secret token key apikey api_key changeme pass passwd auth bearer basic "
    "credentials credential hidden masked redacted secure private public test testing sample string"
)
# $VAR ${VAR} ${{ secrets.X }} {{ .Values.x }} %VAR% $(cmd) <placeholder> [PLACEHOLDER] {placeholder} @VAR@ #{x}
_REFERENCE_RE = re.compile(
    r"\$\{\{[^{}]*\}\}|\$\{[^{}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\$\([^()]*\)|%[A-Za-z_][A-Za-z0-9_]*%|\{\{[^{}]*\}\}"
    r"|<[^<>]{1,60}>|\[[A-Za-z _-]{2,40}\]|\{[A-Za-z0-9_ .-]{0,40}\}|@[A-Za-z_]+@|#\{[^{}]*\}|env\([^()]*\)"
)


def _placeholder_word(v: str, *, in_token: bool) -> bool:
    """`example`, `your-key`, `dummy`... In a token's body (its prefix already says "credential") the word must read
    as one: one case, at an edge or beside a separator (`AKIAIOSFODNN7EXAMPLE`, `sk-your-key-here`), since a
    generated body holds such letters by chance (`ghp_...FaKeWQ6...` was left whole)."""
    if not in_token:
        return bool(_PLACEHOLDER_WORDS_RE.search(v))
    for match in _PLACEHOLDER_WORDS_RE.finditer(v):
        word = match.group()
        if any(c.isalpha() for c in word) and not (word.islower() or word.isupper()):
            continue
        before = v[match.start() - 1] if match.start() else ""
        after = v[match.end()] if match.end() < len(v) else ""
        if not before.isalnum() or not after.isalnum():
            return True
    return False


def is_placeholder(value: str, *, sequential: bool = True) -> bool:
    """A stand-in for a credential: masks, templates, documentation examples, and (unless `sequential` is
    False) runs like `1234567` or `abcdefg`, which values under a secret-named key rarely are by chance but
    test fixtures often are; token rules, whose prefix already says "credential", keep those."""
    v = value.strip()
    if not v or PLACEHOLDER_RE.search(v):
        return True
    if v.lower() in _BENIGN_LITERALS or _REFERENCE_RE.fullmatch(v):
        return True
    distinct = len(set(v))
    if distinct <= 3 or (len(v) >= 12 and distinct <= 5):
        return True
    if _placeholder_word(v, in_token=not sequential) or (sequential and any(seq in v for seq in _SEQUENTIAL)):
        return True
    return distinct < 10 and bool(re.search(r"(.)\1{7}", v))


def is_reference(value: str) -> bool:
    """A pointer to a secret held elsewhere: environment variables, templates, command substitutions."""
    v = value.strip()
    return bool(_REFERENCE_RE.fullmatch(v)) or v.startswith(("${", "$(", "{{", "%(", "<%", "#{"))


# --- identifiers that are not credentials -----------------------------------------------------------------

_UUID_RE = re.compile(r"\{?[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\}?")
_HEX_RE = re.compile(r"(?:0x)?(?:[0-9a-f]+|[0-9A-F]+)")
_MIXED_HEX_RE = re.compile(r"(?:0x)?[0-9a-fA-F]+")
# Digest and object-id lengths: short and full git SHAs, MD5, SHA-1/224/256/384/512, 64-bit and 96-bit ids.
_HEX_ID_LENGTHS = frozenset({7, 8, 9, 10, 11, 12, 16, 24, 32, 40, 48, 56, 64, 96, 128})
# AWS resource ids (`i-05b4f7d5be44822a6`, `eni-07f290fc`, `iip-assoc-0db249b1f25fa24b8`) and Hub/GitHub
# repository ids (`bigscience/bloom-560m`).
_AWS_RESOURCE_ID_RE = re.compile(r"[a-z]{1,12}(?:-[a-z]{1,12})*-(?:[0-9a-f]{17}|[0-9a-f]{8})")
_PLAIN_NAME_RE = re.compile(r"[A-Za-z]{3,}[0-9]{0,4}")  # `WoutN2001`, `james3`: letters, then a number
# Modules compiled by mypyc are named after a hash of their sources: `81d243bd2c585b0f4821__mypyc`.
_MYPYC_RE = re.compile(r"[0-9a-f]{8,}__mypyc")
_REPO_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")
_DOI_RE = re.compile(r"10\.\d{4,9}/")
_DURATION_RE = re.compile(r"-?P-?(?:[0-9.]+[YMWD])*+(?:T(?:-?[0-9.]+[HMS])++)?+")  # ISO 8601 durations
_ULID_RE = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
# Ids of model calls, messages, jobs and runs that the session's own records carry (Anthropic `toolu_`, `msg_`,
# OpenAI `call_`, `chatcmpl-`, `resp_`, `run_`, `file-`, `ftjob-`, Ray `raysubmit_`): never masked when alone.
_ID_PREFIX_RE = re.compile(
    r"(?:toolu|srvtoolu|msg|msgbatch|call|fc|resp|rs|run|req|asst|thread|batch|file|ftjob|ftckpt|evt|cmpl"
    r"|chatcmpl|step|vs|org|proj|user|job|task|local|ws|raysubmit|ckpt|exp|span|trace)[_-][A-Za-z0-9_-]{6,}"
)
# Base64 of common binary files (PNG, JPEG, GIF, RIFF, PDF, zip, gzip, MP4, SVG, XML, ID3, Ogg, WebM, npy, pickle).
_BINARY_B64_PREFIXES = (
    "iVBORw0KGg", "/9j/", "R0lGOD", "UklGR", "JVBERi", "UEsDB", "H4sI", "AAAA", "PHN2Zy", "PD94bW", "SUQz",
    "T2dnUw", "GkXf", "k05VTVBZ", "gASV", "Qk0", "AAABAA",
)


def is_identifier_like(value: str) -> bool:
    """Ids and digests that appear alone in logs and records: UUIDs, hex digests (also EIP-55 mixed case),
    ULIDs, call ids, base64 media."""
    v = value.strip("\"'`")
    if _UUID_RE.fullmatch(v) or _ULID_RE.fullmatch(v) or _ID_PREFIX_RE.fullmatch(v) or _AWS_RESOURCE_ID_RE.fullmatch(v):
        return True
    if _MYPYC_RE.fullmatch(v):
        return True
    if _REPO_ID_RE.fullmatch(v):  # `owner/name` of a model, dataset or repository, not base64 (no `-_.` there)
        owner, name = v.split("/")
        if any(c in v for c in "-_.") or all(_PLAIN_NAME_RE.fullmatch(part) for part in (owner, name)):
            return True
    if _HEX_RE.fullmatch(v) or _MIXED_HEX_RE.fullmatch(v):
        return len(v.removeprefix("0x")) in _HEX_ID_LENGTHS or v.startswith("0x")
    return v.startswith(_BINARY_B64_PREFIXES)


# --- randomness ---------------------------------------------------------------------------------------------

_ALNUM_RUN_RE = re.compile(r"[A-Za-z0-9]+")
_ESCAPES_RE = re.compile(r"\\[xuUN0-7]|&(?:#\d+|[a-z]{2,6});")
_DOTTED_NAME_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*+(?:(?:\.|::|->)[A-Za-z_$][A-Za-z0-9_$]*+)++(?:\(\)?)?")
# (Possessive, so the static linearity check holds: a `/` ends every segment; the extension is looked behind.)
_PATH_RE = re.compile(
    r"(?:~|\.{1,2})?(?:/[\w.@+-]++)++/?|[A-Za-z]:\\[\w\\. -]+|[\w.-]++(?:/[\w.-]++)++"
    + "(?:" + "|".join(f"(?<=\\.[a-z]{{{n}}})" for n in range(1, 6)) + ")"
)
_NUMBER_RE = re.compile(r"[-+]?(?:[0-9][0-9_,]*)?(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?[kKmMgGbB%]?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_VERSION_RE = re.compile(r"v?\d+(?:\.\d+){1,3}(?:[-+.]?[A-Za-z0-9.]+)?")


# A lone string that one regex pass (fullmatch) shows to be no credential: no digit (words, names), ids and
# digests, names of letters and digits, paths, numbers, dates, versions, DOIs, structured names
# (`model.layers.0.self_attn.q_proj`), repository ids. What a scan checks before judging or, past its budget,
# masking a lone token unjudged.
PLAIN_RE = re.compile("|".join(f"(?:{p})" for p in (
    r"[^0-9]*+",
    _UUID_RE.pattern, _ULID_RE.pattern, _ID_PREFIX_RE.pattern, _AWS_RESOURCE_ID_RE.pattern, _MYPYC_RE.pattern,
    r"(?:0x)?(?:[0-9a-fA-F]{7,12}|" + "|".join(f"[0-9a-fA-F]{{{n}}}" for n in sorted(_HEX_ID_LENGTHS) if n > 12) + ")",
    r"[A-Za-z_$][A-Za-z_$]*+[0-9]*+(?:(?:\.|::|->)[A-Za-z_$][A-Za-z_$]*+[0-9]*+)++",
    _PATH_RE.pattern, _NUMBER_RE.pattern, _DATE_RE.pattern, _VERSION_RE.pattern, r"10\.\d{4,9}/\S++",
    r"[A-Za-z0-9]{1,10}+(?:[-_.~+/][A-Za-z0-9]{0,10}+){2,}+",
    r"(?=[^/]*+/[^/]*+$)(?=[^-_.]*+[-_.])[A-Za-z0-9][A-Za-z0-9_.-]*+/[A-Za-z0-9_.-]++",
    r"[A-Za-z]{3,}+[0-9]{0,4}+/[A-Za-z]{3,}+[0-9]{0,4}+",
    "(?:" + "|".join(re.escape(p) for p in _BINARY_B64_PREFIXES) + ").*+",
)))


def mixed_fraction(value: str) -> float:
    """Share of the alphanumeric characters that sit in runs mixing letters and digits. Generated
    credentials score near 1; identifiers, model ids and file names near 0."""
    runs = _ALNUM_RUN_RE.findall(value)
    total = sum(map(len, runs))
    if not total:
        return 0.0
    mixed = sum(len(r) for r in runs if not r.isalpha() and not r.isdigit())
    return mixed / total


def _case_switches(value: str) -> int:
    return sum(1 for a, b in zip(value, value[1:], strict=False) if a.isalpha() and b.isalpha() and a.isupper() != b.isupper())


def is_code_like(value: str) -> bool:
    """Dotted names, paths, numbers, dates and versions: what follows `=` in code and configs without being a
    credential."""
    return bool(
        (_DOTTED_NAME_RE.fullmatch(value) and mixed_fraction(value) < 0.5)
        or _PATH_RE.fullmatch(value)
        or _NUMBER_RE.fullmatch(value)
        or _DATE_RE.fullmatch(value)
        or _VERSION_RE.fullmatch(value)
    )


_WORD_RUN_RE = re.compile(r"[A-Z]?[a-z]{4,}|[A-Z]{4,}")
# The most frequent letter pairs of English text: words are made of them, random letters mostly are not.
_BIGRAMS = wordset(
    "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de hi ri "
    "ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo ho pe ec pr no ct us ac ot il tr ly nc et ut "
    "ss so rs un lo wa ge ie wh ee wi em ad ol rt po we na ul ni ts mo ow pa im mi ai sh ir su id os iv ia am fi "
    "ci vi pl ig tu ev ld ry mp fe bl ab gh ty op wo sa ay ex ke fr oo av ag if ap gr od bo sp rd do uc bu ei ov "
    "by rm ep tt oc fa ef cu rn sc gi da yo cr cl du ga qu ue ff ba ey ls va um pp ua up lu go ht ru ug ds lt pi "
    "rc rr eg au ck ew mu br bi pt ak pu ui rg ib tl ny ki rk ys ob mm fu ph og ms ye ud mb ip ub oi rl gu dr hr "
    "cc ft wn nu af hu nn eo vo rv nf xp gn sm fl iz ok nl my gl aw ju oa eq sy sl ps jo lf nv je nk kn gs dy "
    "ks xt bs ik dd cy rp sk xi oe oy ws lv dl rf eu dg wr xa"
)


def _wordlike(run: str) -> bool:
    """A letter run that reads like a word: vowels in natural proportion and almost all of its letter pairs
    common English pairs."""
    low = run.lower()
    if len(low) < 5 or not 0.25 <= sum(map("aeiou".__contains__, low)) / len(low) <= 0.7:
        return False
    pairs = [low[i : i + 2] for i in range(len(low) - 1)]
    return sum(p in _BIGRAMS for p in pairs) >= 0.75 * len(pairs)


def word_fraction(value: str) -> float:
    """Share of characters in word-like letter runs (`N18x509_attributes_st4DOLLAR` is half words)."""
    return sum(len(r) for r in _WORD_RUN_RE.findall(value) if _wordlike(r)) / max(1, len(value))


def _entropy_floor(v: str) -> float:
    """Entropy a random string of v's length and alphabet (hex, one-case alphanumerics, mixed case) clearly
    exceeds: 72% of the most it could have."""
    core = "".join(filter(str.isalnum, v))  # separators (`-` in UUIDs, `:` and `/`) add little
    if core and _HEX_RE.fullmatch(core):
        alphabet = 16
    elif core.lower() == core or core.upper() == core:
        alphabet = 36
    else:
        alphabet = 64
    return max(2.9, 0.72 * math.log2(min(len(v), alphabet)))


# One segment of a name: a capitalised word, an acronym (before a word, a version like `v4`, a number, a
# separator or the end), a lower-case run, a number, separators, a single capital before a word.
_NAME_SEGMENT_RE = re.compile(
    r"(?P<title>[A-Z][a-z]+)|(?P<acro>[A-Z]{2,}(?=[A-Z][a-z]|[a-z]{1,2}[0-9]|[0-9_.:-]|$)|[A-Z](?=[0-9]))"
    r"|(?P<single>[A-Z](?=[A-Z][a-z]))"
    r"|(?P<low>[a-z]+)|(?P<num>[0-9]+)|(?P<sep>[_.:-]+)"
)


def reads_as_name(value: str, min_words: int = 0) -> bool:
    """A name built from words, acronyms and numbers (`CreateAutoMLJobV2`, `ChaCha20Poly1305`,
    `MLKEM768X25519PrivateKey`, `base64-encode`, `sodium_bin2base64`): what a person typed, so not
    generated, though it mixes letters, digits and cases. Generated strings fail on an acronym before a
    lower-case letter, stray short runs, many numbers, too many capitals, or words made of rare letter pairs.
    `min_words`: at least that many words of three letters or more (`PKCS12PrivateKeyTypes` has three)."""
    pos, letters, word_letters, acronym_letters, segments, numbers, stray = 0, 0, 0, 0, 0, 0, 0
    pairs = common = words = 0
    while pos < len(value):
        m = _NAME_SEGMENT_RE.match(value, pos)
        if m is None:
            return False
        seg, kind = m.group(), m.lastgroup
        at_start, pos = m.start() == 0, m.end()
        if kind == "num":
            numbers += 1
            continue
        if kind == "sep":
            continue
        segments += 1
        letters += len(seg)
        low = seg.lower()
        if kind == "single":  # `A` of `PathNotAFile`, `O` of `OAuth`: once
            stray += 1
            word_letters += 1
        elif kind == "acro":
            acronym_letters += len(seg)
            word_letters += len(seg)
        elif len(seg) >= 3:
            word = any(c in "aeiouy" for c in low)
            word_letters += len(seg) if word else 0
            words += word
            pairs += len(low) - 1
            common += sum(low[i : i + 2] in _BIGRAMS for i in range(len(low) - 1))
        elif not at_start and kind == "low":  # one or two lower-case letters: only a version letter (`v4`)
            stray += 1
            if not value[pos : pos + 1].isdigit():
                return False
    if value.islower() and value.isalnum() and (numbers > 2 or stray):  # `mk8jonf6w1rispeq` is noise
        return False
    return (
        segments >= 2 and numbers <= 3 and stray <= 1
        and word_letters >= 0.7 * letters and acronym_letters <= 0.5 * letters
        and common >= 0.75 * pairs and words >= min_words
    )


def looks_random(value: str, min_len: int = 16) -> bool:
    """A generated credential: long, no spaces, letters mixed with digits (or a long base64 run), enough
    entropy, and not a placeholder, path, number or dotted name."""
    v = value
    if len(v) < min_len or any(map(str.isspace, v)) or is_placeholder(v) or is_code_like(v):
        return False
    if _ESCAPES_RE.search(v):  # `\xe5\xf6`, `&lt;`: escaped text, not a generated value
        return False
    letters = sum(map(str.isalpha, v))  # (map: these run on every value judged)
    digits = sum(map(str.isdigit, v))
    if letters < 2 or word_fraction(v) >= 0.4:
        return False
    if digits:
        return entropy(v) >= _entropy_floor(v) and mixed_fraction(v) >= 0.3
    # No digits: only long mixed-case runs with many case switches (base64 of random bytes) qualify.
    return len(v) >= 24 and _case_switches(v) >= len(v) // 4 and entropy(v) >= 3.8


def looks_like_password(value: str) -> bool:
    """A value a person chose as a password: anything that is not a placeholder, reference, literal or code,
    with at least one letter or digit."""
    v = value.strip()
    if len(v) < 4 or not any(map(str.isalnum, v)) or is_placeholder(v) or is_reference(v):
        return False
    return not (_NUMBER_RE.fullmatch(v) and len(v) < 6)


def _base64_text(value: str) -> bool:
    """Base64 of readable text (encoded e-mail bodies, test vectors), not of random bytes."""
    core = value.rstrip("=")
    if len(core) < 8 or not re.fullmatch(r"[A-Za-z0-9+/]+", core):
        return False
    try:
        decoded = base64.b64decode(core + "=" * (-len(core) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    printable = sum(c.isprintable() or c in "\n\t" for c in decoded)
    return printable >= len(decoded) * 0.95 and (" " in decoded or "\n" in decoded or "\x00" in decoded)


def is_lone_secret(value: str) -> bool:
    """A string standing alone (a whole line or a whole field) that is a credential by shape alone: stricter
    than :func:`looks_random`, because nothing around it says "secret"."""
    v = value
    if len(v) < 16 or len(v) > 600 or re.match(r"-[-A-Za-z]|sha(?:1|256|384|512)-", v):  # flags, boundaries, SRI
        return False
    parts = re.split(r"[-_.~+/]", v)
    if len(parts) >= 3 and max(map(len, parts)) <= 10:  # `AES128-GCM-SHA256`, `u-12tb1.112xlarge`, dates, versions
        return False
    if "=" in v.rstrip("="):  # `NAME=value` is an assignment (the context rules judge it), `00Cg=Fq=` is not
        name = v.split("=", 1)[0]
        if re.fullmatch(r"[A-Za-z_][\w.]*", name):
            return False
    if is_identifier_like(v) or not looks_random(v) or word_fraction(v) >= 0.45 or _base64_text(v):
        return False
    if reads_as_name(v) or _DOI_RE.match(v) or _DURATION_RE.fullmatch(v) or v[:4].lower() == "xn--":
        return False  # `ChaCha20Poly1305`, `10.1007/BF03546304`, `P6DT0H50M3.01S`, punycode `XN--3OQ18VL8PN36A`
    if v.count("/") >= 2 and _PATH_RE.fullmatch(v):
        return False
    if _DOTTED_NAME_RE.fullmatch(v) and word_fraction(v) >= 0.15:  # `base64.b64decode`, `torch.float16`
        return False
    if len(re.findall(r"[0-9]+", v)) < 2:  # `Source_PEP3147Tests`: digits in one place, a name
        return False
    core = v.rstrip("=")
    if _HEX_RE.fullmatch(core):  # hex of a non-standard length: only with a high share of letters
        return sum(map(str.isalpha, core)) >= len(core) // 5
    return mixed_fraction(v) >= 0.5 and sum(map(str.isdigit, v)) >= 2
