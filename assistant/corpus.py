"""The corpus folder -> parsed Documents. [I/O]"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from assistant import lexicon
from assistant.errors import CorpusError, InputError
from assistant.structure import NAMED_KINDS, parse_document, plan_kinds
from assistant.types import Document, Plan, plan_kind

CORPUS_SUFFIXES = (".txt",)


@dataclass
class Corpus:
    """All documents of the corpus folder, keyed by document id (file stem)."""

    documents: dict[str, Document]

    @property
    def sha256(self) -> str:
        """One hash over every document's id and content: changes when any file does."""
        h = hashlib.sha256()
        for doc in sorted(self.documents):
            h.update(f"{doc}\0{self.documents[doc].sha256}\0".encode())
        return h.hexdigest()

    def text(self, doc: str) -> str:
        return self.documents[doc].text

    def quote(self, doc: str, start: int, end: int) -> str:
        return self.documents[doc].text[start:end]

    def plans(self) -> dict[str, Plan]:
        """Every plan by its key, in document order."""
        return {p.key: p for d in self.documents.values() for p in d.plans}

    def locate(self, doc: str, start: int) -> tuple[Document, Plan] | None:
        """The document and plan a character offset falls in."""
        d = self.documents.get(doc)
        if d is None:
            return None
        return next(((d, p) for p in d.plans if p.start <= start <= p.end), (d, d.plans[0]) if d.plans else None)


def read_text_file(path: Path) -> str:
    """A UTF-8 text file's content; a clear error for binary or non-UTF-8 files."""
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise CorpusError(f"{path}: looks like a binary file, not plan text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return text


def corpus_files(folder: Path) -> list[Path]:
    """The plan files of a corpus folder (one document each, id = file stem), sorted."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in CORPUS_SUFFIXES and p.is_file())


def load_corpus(corpus_dir: str | Path) -> Corpus:
    """Parse every plan file in corpus_dir."""
    folder = Path(corpus_dir)
    if not folder.is_dir():
        raise CorpusError(f"corpus folder {folder} does not exist")
    files = corpus_files(folder)
    if not files:
        raise CorpusError(f"corpus folder {folder} has no plan files ({', '.join(CORPUS_SUFFIXES)})")
    texts = {path.stem: (read_text_file(path), str(path)) for path in files}
    # A kind of plan (the women's plan) held by two documents is the plan of neither by name: each is
    # known by its document and its own title ("women@doc", 嘉兴市妇女发展“十四五”规划). Which kinds
    # are shared is read from the title lines first, so that each document is parsed once.
    holders = Counter(kind for doc, (text, _) in texts.items() for kind in plan_kinds(text, doc)
                      if kind in NAMED_KINDS)
    shared = frozenset(kind for kind, n in holders.items() if n > 1)
    docs = {doc: parse_document(text, doc=doc, path=path, shared=shared) for doc, (text, path) in texts.items()}
    return Corpus(docs)


def plan_filter(plan: object, plans: dict[str, Plan]) -> list[str] | None:
    """Plan keys from a filter: a key ("women", "women@doc"), a plan's name or title, or a kind's
    name ("妇女规划", "儿童"), or a list of them; None = every plan. A kind that two documents hold
    names neither: the user is asked to choose, never given both or the first one found."""
    if plan is None or (isinstance(plan, str) and plan in ("", "all", "全部")):
        return None
    names = [plan] if isinstance(plan, str) else list(plan) if isinstance(plan, list | tuple) else None
    if not names or not all(isinstance(p, str) and p for p in names):
        raise InputError("plan 只能是规划的名称，例如 women / children（妇女规划 / 儿童规划）。")
    keys: list[str] = []
    for name in names:
        found = [k for k, p in plans.items() if name in (k, p.name, p.title)]
        kind = lexicon.PLAN_KIND_NAMES.get(name)
        found = found or [k for k in plans if kind and plan_kind(k) == kind]
        if len(found) > 1:
            choices = "、".join(f"{plans[k].title}（{k}）" for k in found)
            raise InputError(f"“{name}”有{len(found)}份，请指定其中一份：{choices}")
        if not found:
            choices = "、".join(f"{p.name}（{k}）" for k, p in plans.items())
            raise InputError(f"没有规划“{name}”；可选：{choices}")
        keys += found
    return list(dict.fromkeys(keys))
