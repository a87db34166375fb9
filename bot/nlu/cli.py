"""``python -m bot nlu ...``: build the generated NLU examples; digest the dev split."""
from __future__ import annotations

import sys
from pathlib import Path

from bot.settings import REPO_ROOT

DIGESTS_PATH = REPO_ROOT / "tests" / "nlu" / "data" / "dev_split.sha256"


def register(subparsers) -> None:
    nlu = subparsers.add_parser("nlu", help="NLU training data: generated examples, dev guard")
    sub = nlu.add_subparsers(dest="nlu_command", metavar="ACTION", required=True)

    generate = sub.add_parser("generate", help="write nlu_data/generated/support.yml from "
                                               "bot/nlu/templates.yml")
    generate.add_argument("--seed", type=int, help="random seed (default 14)")
    generate.add_argument("--out", type=Path, help="default nlu_data/generated/support.yml")
    generate.add_argument("--check", action="store_true",
                          help="only check that the file is current (exit 1 if not)")
    generate.set_defaults(handler=_generate)

    digests = sub.add_parser("dev-digests",
                             help="write SHA-256 digests of a dev split's sentences (normal form) "
                                  "for the test that keeps them out of training data")
    digests.add_argument("--dev", type=Path, required=True, help="CSV with a text column")
    digests.add_argument("--out", type=Path, default=DIGESTS_PATH)
    digests.set_defaults(handler=_digests)


def _generate(args) -> int:
    from bot.nlu.generate import DEFAULT_SEED, OUTPUT_PATH, build

    out = args.out or OUTPUT_PATH
    text = build(DEFAULT_SEED if args.seed is None else args.seed)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != text:
            print(f"{out} is out of date: run python -m bot nlu generate", file=sys.stderr)
            return 1
        print(f"{out} is current")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    count = sum(1 for line in text.splitlines() if line.startswith("    - "))
    print(f"wrote {count} examples to {out}")
    return 0


def _digests(args) -> int:
    from bot.nlu.overlap import digests, read_dev_sentences

    lines = digests(read_dev_sentences(args.dev))
    header = ("# SHA-256 of the normal form (bot.nlu.overlap.normal_form) of each sentence of the"
              " dev split;\n# written by `python -m bot nlu dev-digests --dev FILE`. No sentence"
              " is stored here.\n")
    args.out.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} digests to {args.out}")
    return 0
