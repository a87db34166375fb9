"""NLU examples from our own templates: how shoppers phrase the support topics, varied on purpose.

``templates.yml`` (written by us, from nothing but our own idea of how people write) holds, per
intent, verb phrases (``do``: "cancel {my} {order}{ref}"), gerund or noun phrases (``ing``),
embedded questions (``know``: "where my refund is"), whole messages (``say``) and very short ones
(``short``); shared frames turn a phrase into a command, a question or a statement ("could you
{phrase} for me", "i need help with {phrase}", "can you tell me {phrase}"), and shared lists
give the synonyms (order / purchase / item / article / product), British and American spellings,
fillers and order numbers. Each example is then dressed in one register (plain, polite, angry or
profane, rambling) and may get typo noise.

Placeholders: ``{name}`` is a random entry of the list ``name`` (entries may hold placeholders
themselves), ``{a|b|}`` a random one of the alternatives (empty allowed), ``{num}`` an order
number annotated for Rasa in one of the spellings shoppers use.

The output is deterministic for a seed (each intent has its own random stream, so editing one
intent's templates leaves the others' examples as they were), never repeats an example of the
hand-written data or of another intent (compared in the normal form of ``bot.nlu.overlap``), and
is written to ``nlu_data/generated/support.yml`` with a header naming the command:

    python -m bot nlu generate [--seed 14] [--check]
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping

import yaml

from bot.nlu.overlap import ANNOTATION, normal_form
from bot.settings import REPO_ROOT

TEMPLATES_PATH = Path(__file__).parent / "templates.yml"
HAND_WRITTEN_DIR = REPO_ROOT / "nlu_data" / "nlu"
OUTPUT_PATH = REPO_ROOT / "nlu_data" / "generated" / "support.yml"
DEFAULT_SEED = 14
COMMAND = "python -m bot nlu generate"

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_WORD = re.compile(r"[A-Za-z]{4,}")
# Keys next to each other on a QWERTY keyboard (a slipped finger).
_NEIGHBOURS = MappingProxyType({
    "a": "qsz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
})
# Number spellings (regex.yml accepts all of them; docs/nlu.md, Entities).
_NUMBER_SHAPES = ("SH-{d}", "SH-{d}", "sh{d}", "SH {d}", "#{d}", "{d}", "sh-{d}")
_MAX_ATTEMPTS = 60  # draws per wanted example before an intent gives up
KINDS = ("do", "ing", "know", "say", "short")


@dataclass(frozen=True)
class Templates:
    lists: Mapping[str, tuple[str, ...]]
    frames: Mapping[str, tuple[str, ...]]  # kind ("do", "ing") -> frames with {phrase}
    registers: Mapping[str, Mapping]  # name -> {"weight", "prefix", "suffix", "upper"}
    typo_rate: float  # share of examples that get typo noise
    intents: Mapping[str, Mapping]  # intent -> {"count", "weights", and a tuple per KINDS}


@lru_cache(maxsize=4)
def load_templates(path: Path = TEMPLATES_PATH) -> Templates:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))

    def frozen(mapping: dict) -> Mapping[str, tuple[str, ...]]:
        return MappingProxyType({k: strings(v, k) for k, v in mapping.items()})

    lists, frames = frozen(raw["lists"]), frozen(raw["frames"])
    registers = {
        name: MappingProxyType({"weight": float(spec.get("weight", 1)),
                                "prefix": strings(spec.get("prefix"), name) or ("",),
                                "suffix": strings(spec.get("suffix"), name) or ("",),
                                "upper": float(spec.get("upper", 0))})
        for name, spec in raw["registers"].items()
    }
    intents = {
        name: MappingProxyType({
            "count": int(spec.get("count", raw.get("count", 40))),
            **{kind: strings(spec.get(kind), f"{name}.{kind}") for kind in KINDS},
            "weights": MappingProxyType({**raw["kind_weights"], **(spec.get("weights") or {})}),
        })
        for name, spec in raw["intents"].items()
    }
    return Templates(lists, frames, MappingProxyType(registers),
                     float(raw.get("typo_rate", 0.2)), MappingProxyType(intents))


def strings(values, where: str) -> tuple[str, ...]:
    """A YAML list of plain strings (an unquoted "{x} y" would have become a mapping)."""
    values = values or ()
    bad = [v for v in values if not isinstance(v, str)]
    if bad:
        raise ValueError(f"templates: {where} has entries that are not strings "
                         f"(quote entries that start with a brace): {bad[:3]}")
    return tuple(values)


# ------------------------------------------------------------------------------- expansion


def expand(template: str, templates: Templates, rng: random.Random, depth: int = 0) -> str:
    """Fill every placeholder of ``template`` (recursively, lists may nest)."""
    if depth > 8:
        raise ValueError(f"placeholders nest too deep: {template!r}")

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if "|" in name:
            choice = rng.choice(name.split("|"))
        elif name == "num":
            return order_number(rng)
        elif name in templates.lists:
            choice = rng.choice(templates.lists[name])
        else:
            raise KeyError(f"unknown placeholder {{{name}}} in {template!r}")
        return expand(choice, templates, rng, depth + 1)

    text = template
    for _ in range(8):  # innermost first: "{a {thing}|something}" needs two passes
        if not _PLACEHOLDER.search(text):
            return text
        text = _PLACEHOLDER.sub(fill, text)
    raise ValueError(f"placeholders nest too deep: {template!r}")


def order_number(rng: random.Random) -> str:
    digits = f"{rng.randrange(100000, 1000000)}"
    return f"[{rng.choice(_NUMBER_SHAPES).format(d=digits)}](order_number)"


def typo(word: str, rng: random.Random) -> str:
    """One slip of the fingers: a swapped, dropped, doubled or neighbouring letter."""
    i = rng.randrange(1, len(word) - 1)  # keep the first letter, as people mostly do
    kind = rng.choice(("swap", "drop", "double", "neighbour"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    near = _NEIGHBOURS.get(word[i].lower())
    return word[:i] + (rng.choice(near) if near else word[i]) + word[i + 1:]


def add_typos(text: str, rng: random.Random, count: int) -> str:
    """``count`` typos in words of four letters or more, never inside an entity annotation."""
    pieces, last = [], 0
    for match in ANNOTATION.finditer(text):
        pieces.append((text[last:match.start()], True))
        pieces.append((match.group(0), False))
        last = match.end()
    pieces.append((text[last:], True))
    spots = [(p, m) for p, (piece, free) in enumerate(pieces) if free
             for m in _WORD.finditer(piece)]
    for p, m in sorted(rng.sample(spots, min(count, len(spots))),
                       key=lambda s: (s[0], -s[1].start())):
        piece = pieces[p][0]
        pieces[p] = (piece[:m.start()] + typo(m.group(0), rng) + piece[m.end():], True)
    return "".join(piece for piece, _ in pieces)


def _upper_outside_annotations(text: str) -> str:
    out, last = [], 0
    for match in ANNOTATION.finditer(text):
        out += [text[last:match.start()].upper(), match.group(0)]
        last = match.end()
    return "".join(out + [text[last:].upper()])


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.?!])", r"\1", text)
    return re.sub(r"^[,.\s]+", "", text)


def one_example(intent: str, templates: Templates, rng: random.Random) -> str:
    spec = templates.intents[intent]
    kinds = [k for k in KINDS if spec[k]]
    kind = rng.choices(kinds, weights=[spec["weights"].get(k, 1.0) for k in kinds])[0]
    phrase = rng.choice(spec[kind])
    if kind in templates.frames:
        core = rng.choice(templates.frames[kind]).replace("{phrase}", phrase)
    else:
        core = phrase
    if kind == "short":
        register = templates.registers["plain"]
    else:
        names = list(templates.registers)
        register = templates.registers[rng.choices(
            names, weights=[templates.registers[n]["weight"] for n in names])[0]]
    text = rng.choice(register["prefix"]) + core + rng.choice(register["suffix"])
    text = _tidy(expand(text, templates, rng))
    if rng.random() < templates.typo_rate:
        text = add_typos(text, rng, 1 if rng.random() < 0.7 else 2)
    if register["upper"] and rng.random() < register["upper"]:
        text = _upper_outside_annotations(text)
    elif rng.random() < 0.25:
        text = text[:1].upper() + text[1:]
    return text


def generate(templates: Templates, seed: int = DEFAULT_SEED,
             taken: Iterable[str] = ()) -> dict[str, list[str]]:
    """Examples per intent; none equal (in normal form) to ``taken`` or to another's."""
    seen = {normal_form(t) for t in taken}
    out: dict[str, list[str]] = {}
    for intent in templates.intents:
        rng = random.Random(f"{seed}:{intent}")
        wanted = templates.intents[intent]["count"]
        examples: list[str] = []
        for _ in range(wanted * _MAX_ATTEMPTS):
            if len(examples) == wanted:
                break
            text = one_example(intent, templates, rng)
            key = normal_form(text)
            if not key or key in seen:
                continue
            seen.add(key)
            examples.append(text)
        out[intent] = examples
    return out


# --------------------------------------------------------------------------------- the file


def hand_written_examples(folder: Path = HAND_WRITTEN_DIR) -> list[str]:
    """Every example of the hand-written NLU files (nlu_data/nlu/*.yml)."""
    examples = []
    for path in sorted(folder.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" in item:
                examples += [line[2:].strip() for line in item["examples"].splitlines()
                             if line.startswith("- ")]
    return examples


def render(examples: Mapping[str, list[str]], seed: int) -> str:
    lines = [
        f"# GENERATED by `{COMMAND}` (seed {seed}) from bot/nlu/templates.yml - do not edit.",
        "# Change the templates and run the command again; tests/nlu/test_generated.py checks",
        "# that this file is what the command writes. No sentence comes from a public dataset.",
        'version: "3.1"',
        "nlu:",
    ]
    for intent, texts in examples.items():
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in texts]
    return "\n".join(lines) + "\n"


def build(seed: int = DEFAULT_SEED, templates_path: Path = TEMPLATES_PATH,
          hand_written: Path = HAND_WRITTEN_DIR) -> str:
    """The text of the generated file."""
    templates = load_templates(templates_path)
    return render(generate(templates, seed, hand_written_examples(hand_written)), seed)
