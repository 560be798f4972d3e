"""The documents as the app's 文档管理 tab manages them: preview an upload, add or replace it, list,
remove, with one build at a time running in the background. [I/O]

Everything goes through ingest (the same checks as `python -m assistant ingest`, the same journal
and locks): a preview reads and parses the file and writes nothing; a commit or a removal runs
ingest.ingest / ingest.remove in a thread of its own and reports its progress as a Job. While it
builds, the app keeps answering from the live index (the new one is written aside and swapped in
at the end, see indexing.build); `on_change` is called once the new index is live.

Every refusal is a DocumentError whose message is Chinese: ingest's English messages are
translated here (MESSAGES), with the temporary path of an upload replaced by its file name.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.chunking import chunk_document
from assistant.config import Settings
from assistant.errors import AssistantError, DocumentError
from assistant.ingest import (
    DocumentInfo,
    IngestResult,
    Progress,
    check_files,
    ingest,
    list_documents,
    planned,
    read_sources,
)
from assistant.ingest import remove as remove_document
from assistant.structure import PLAN_TITLE, iter_nodes, parse_document, split_lines
from assistant.types import Document

log = logging.getLogger(__name__)

# A plan is thousands of characters; a file that gives fewer than this is likely a scan without a
# text layer, or a cover page only (a .pdf of images gives a few page numbers).
FEW_CHARS = 200
STAGES = {  # Job.stage -> what the tab shows
    "checking": "检查文件", "embedding": "计算段落向量", "sentences": "计算句子向量",
    "reloading": "加载新索引", "done": "完成", "failed": "失败",
}
BUILDING = "正在构建索引（{what}），请等它完成后再提交或删除。"

# ingest's messages (CorpusError, "<path>: <what>") -> Chinese; the first pattern that matches wins.
MESSAGES: list[tuple[str, str]] = [
    (r"unsupported file type '\(no extension\)'", "文件没有扩展名：请上传 .txt、.md、.docx、.pdf 或 .html 文件。"),
    (r"unsupported file type '([^']*)'", "不支持这种文件类型（{0}）：请上传 .txt、.md、.docx、.pdf 或 .html 文件。"),
    (r"no such file", "找不到上传的文件，请重新上传。"),
    (r"the (?:file|document) is empty", "文件是空的。"),
    (r"([\d,]+) bytes is over the ([\d,]+)-byte limit", "文件有 {0} 字节，超过了 {1} 字节的上限。"),
    (r"extracted text is over the ([\d,]+)-byte limit", "从文件中提取的文字超过了 {0} 字节的上限。"),
    (r"looks like a binary file", "这不是文本文件（含有二进制内容）。"),
    (r"not UTF-8 text", "文件不是 UTF-8 编码的文本：请用“另存为”选择 UTF-8 编码后再上传。"),
    (r"not readable as its declared charset (\S+)", "网页无法按它声明的编码 {0} 读取。"),
    (r"not a readable (\.\w+) file", "无法读取这个 {0} 文件：文件已损坏，或并不是这种格式。"),
    (r"a scanned PDF", "PDF 中没有文字（可能是扫描件，没有文字层）。"),
    (r"no text found", "文件中没有找到文字。"),
    (r"the PDF is encrypted", "PDF 已加密，无法读取。"),
    (r"inflates to more than|more than [\d,]+ (?:XML )?elements|more than [\d,]+ cells|over the [\d,]+-column",
     "文件结构过于庞大（元素、表格单元格或解压后的大小超过上限），无法解析。"),
    (r"HTML parser stops at line (\d+)", "网页在第 {0} 行无法解析，后面的文字会丢失。"),
    (r"would be stored as", "文件名与已有文档的编号冲突，请给文件改个名字再上传。"),
    (r"no such document", "没有这个文档（可能已被删除），请刷新列表。"),
    (r"the only document", "这是唯一的文档：请先添加其他文档，再删除它。"),
    (r"still running after", "另一个导入或删除仍在进行，请稍后再试。"),
]


@dataclass(frozen=True)
class PlanSummary:
    """What the parser found in one plan of a file: its title, headings and indicator-table rows."""

    title: str
    parts: int  # 一、 / 第一章
    sections: int  # （一） / 第一节
    items: int  # 1． (1)
    table_rows: int


@dataclass(frozen=True)
class Preview:
    """An upload read and parsed, nothing written: what a commit would store, and what to check first."""

    file: str  # the uploaded file's name
    doc: str  # the document id it would be stored under (corpus/<doc>.txt)
    status: str  # "added" | "replaced" | "unchanged"
    replaces: str  # the original file of the document it replaces ("" unless replaced)
    chars: int
    chunks: int  # passages it would be indexed as
    plans: tuple[PlanSummary, ...]
    warnings: tuple[str, ...]

    @property
    def title(self) -> str:
        return self.plans[0].title if self.plans else ""

    @property
    def sections(self) -> int:
        """Headings of every level, of every plan."""
        return sum(p.parts + p.sections + p.items for p in self.plans)

    @property
    def table_rows(self) -> int:
        return sum(p.table_rows for p in self.plans)


@dataclass(frozen=True)
class Job:
    """One change of the documents running (or run) in the background, as the tab shows it."""

    action: str  # "add" | "remove"
    target: str  # the file name added, or the document id removed
    started: float = field(default_factory=time.time)
    stage: str = "checking"  # a key of STAGES
    done: int = 0
    total: int = 0
    message: str = ""  # the outcome in Chinese, once finished
    results: tuple[IngestResult, ...] = ()
    finished: float | None = None

    @property
    def running(self) -> bool:
        return self.stage not in ("done", "failed")

    @property
    def ok(self) -> bool:
        return self.stage == "done"

    def describe(self) -> str:
        """"添加“规划.txt”" / "删除“规划”"."""
        return f"{'添加' if self.action == 'add' else '删除'}“{self.target}”"


_builds_guard = threading.Lock()
_builds: dict[str, threading.Lock] = {}  # corpus folder (real path) -> held while a change of it runs


def _build_lock(settings: Settings) -> threading.Lock:
    with _builds_guard:
        return _builds.setdefault(os.path.realpath(settings.corpus_dir), threading.Lock())


def size_text(n: int) -> str:
    """A byte count as the tab shows it: "20 MB", "5,000 字节"."""
    return f"{n / 1_000_000:g} MB" if n >= 1_000_000 else f"{n:,} 字节"


def chinese(exc: Exception, path: str | Path | None = None) -> str:
    """The Chinese message for an error of ingest (or any error): what is wrong, never a traceback."""
    if isinstance(exc, DocumentError):
        return str(exc)
    if not isinstance(exc, AssistantError):
        log.exception("unexpected error while changing the documents")
        return "处理文档时出现意外错误，文档和索引都没有改变。"
    text = str(exc)
    if path is not None:  # "<path>: <what>": what a file is called says nothing of what is wrong with it
        text = text.removeprefix(f"{path}: ").replace(str(path), Path(path).name)
    for pattern, message in MESSAGES:
        m = re.search(pattern, text)
        if m:
            return message.format(*m.groups())
    return f"无法处理这个文件：{text}"


class Documents:
    """Preview, add or replace, list and remove the documents of settings.corpus_dir; one build at a time."""

    def __init__(self, settings: Settings, on_change: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.on_change = on_change  # called in the job's thread once a change is live (the app reloads)
        self._lock = _build_lock(settings)
        self._state = threading.Lock()  # guards _job
        self._job: Job | None = None
        self._thread: threading.Thread | None = None
        self._before: list[DocumentInfo] = []  # the list as it was when the running job started

    # ---- reading ---------------------------------------------------------------------------

    def preview(self, path: str | Path) -> Preview:
        """Read, check and parse an upload as ingest would; DocumentError (Chinese) when it is refused."""
        path = Path(path)
        try:
            [item] = check_files([path], self.settings.max_file_bytes)
            [status] = planned(self.settings, [item])
        except Exception as exc:
            raise DocumentError(chinese(exc, path)) from None
        document = parse_document(item.text, doc=item.doc, path=path.name)
        previous = read_sources(Path(self.settings.corpus_dir)).get(item.doc) or {}
        replaces = (previous.get("file") or f"{item.doc}.txt") if status == "replaced" else ""
        plans = tuple(_plan_summary(p) for p in document.plans)
        return Preview(file=path.name, doc=item.doc, status=status, replaces=replaces, chars=len(item.text),
                       chunks=len(chunk_document(document, self.settings.chunk_max_tokens)), plans=plans,
                       warnings=tuple(_warnings(document, status)))

    def documents(self) -> list[DocumentInfo]:
        """Every document (ingest.list_documents); while a change runs, the list from before it."""
        if self.job is not None and self.job.running:
            return list(self._before)
        try:
            return list_documents(self.settings)
        except Exception as exc:
            raise DocumentError(chinese(exc)) from None

    @property
    def job(self) -> Job | None:
        """The running change, or the last one finished (None before the first)."""
        with self._state:
            return self._job

    def wait(self, timeout: float | None = None) -> Job | None:
        """The job once it has finished (or as it is after `timeout` seconds)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.job

    # ---- changing --------------------------------------------------------------------------

    def commit(self, path: str | Path, progress: Progress | None = None,
               cleanup: Callable[[Path], None] | None = None) -> Job:
        """Add or replace the document of an upload in the background; the Job to follow (DocumentError
        with 正在构建 while another change runs). `progress` also gets the build's reports; `cleanup`
        gets the path once the job is over, whatever its outcome (the app deletes the upload)."""
        path = Path(path)
        self.preview(path)  # a bad file is refused here, before any thread or lock
        job = self._start(Job("add", path.name), lambda report: ingest(self.settings, [path], progress=report),
                          progress, (lambda: cleanup(path)) if cleanup else None)
        return job

    def remove(self, doc: str, progress: Progress | None = None) -> Job:
        """Remove a document in the background and rebuild the index; the Job to follow."""
        if not isinstance(doc, str) or not doc:
            raise DocumentError("请先选择要删除的文档。")
        return self._start(Job("remove", doc), lambda report: remove_document(self.settings, doc, progress=report),
                           progress)

    def _start(self, job: Job, work: Callable[[Progress], object], progress: Progress | None,
               after: Callable[[], None] | None = None) -> Job:
        if not self._lock.acquire(blocking=False):
            running = self.job
            what = running.describe() if running is not None and running.running else "另一项更改"
            raise DocumentError(BUILDING.format(what=what))
        try:
            self._before = list_documents(self.settings)
        except Exception as exc:
            self._lock.release()
            raise DocumentError(chinese(exc)) from None
        with self._state:
            self._job = job
        # Not a daemon: an app stopped mid-build finishes it first (a killed one is rolled back, corpusdir).
        self._thread = threading.Thread(target=self._run, args=(work, progress, after), name="documents",
                                        daemon=False)
        self._thread.start()
        return job

    def _run(self, work: Callable[[Progress], object], progress: Progress | None,
             after: Callable[[], None] | None) -> None:
        def report(stage: str, done: int, total: int) -> None:
            self._update(stage=stage, done=done, total=total)
            if progress is not None:
                progress(stage, done, total)

        try:
            outcome = work(report)
            results = tuple(outcome[0]) if isinstance(outcome, tuple) else ()
            self._update(stage="reloading", done=0, total=0, results=results)
            self._changed()
            self._finish("done", _success(self.job, outcome))
        except Exception as exc:
            self._finish("failed", "没有改动：" + chinese(exc))
        finally:
            self._lock.release()
            if after is not None:
                try:
                    after()
                except Exception:  # a failed cleanup must not hide how the change ended
                    log.exception("cleaning up after a change of the documents failed")

    def _changed(self) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change()
        except Exception:  # the change is live all the same: the app reloads on its next check
            log.exception("the documents changed, but on_change failed")

    def _update(self, **changes: object) -> None:
        with self._state:
            if self._job is not None:
                self._job = replace(self._job, **changes)  # type: ignore[arg-type]

    def _finish(self, stage: str, message: str) -> None:
        log.info("documents: %s", message)
        self._update(stage=stage, message=message, finished=time.time())


def _success(job: Job | None, outcome: object) -> str:
    if job is None:
        return "完成。"
    if job.action == "remove":
        return f"已删除文档“{job.target}”，索引已更新。"
    results, built = outcome  # type: ignore[misc]
    r = results[0]
    if r.status == "unchanged":
        return f"“{job.target}”与已有文档“{r.doc}”相同，没有改动。"
    verb = "已替换" if r.status == "replaced" else "已添加"
    return f"{verb}文档“{r.doc}”（{job.target}）" + ("，索引已更新，现在可以提问。" if built else "。")


def _plan_summary(plan) -> PlanSummary:
    counts = {"part": 0, "section": 0, "item": 0}
    for node in iter_nodes(plan):
        if node.level in counts:
            counts[node.level] += 1
    return PlanSummary(plan.title, counts["part"], counts["section"], counts["item"], len(plan.indicators))


def _warnings(document: Document, status: str) -> list[str]:
    """What a person should look at before committing: structure not found, no table, little text."""
    out = []
    lines = split_lines(document.text)
    if not any(not ln.is_cell and PLAN_TITLE.match(ln.text) for ln in lines):
        out.append(f"没有找到规划标题（如“××市××发展规划”），将以“{document.plans[0].title}”作标题。")
    if not any(p.parts for p in document.plans):
        out.append("没有识别出层级标题（一、/（一）/1．/第一章）：将按段落检索，回答中不会标出章节。")
    if not any(p.indicators for p in document.plans):
        out.append("没有识别出指标表（领域、序号、指标、2020年、2025年各列）：指标只能从正文中检索。")
    missing = sum(1 for p in document.plans for i in p.indicators if not i.target)
    if missing:
        out.append(f"指标表中有 {missing} 行没有读到目标值。")
    if len(document.text) < FEW_CHARS:
        out.append(f"文件只有 {len(document.text)} 个字：请确认内容是否完整（扫描件没有文字层）。")
    if status == "unchanged":
        out.append("与已有文档的内容完全相同：提交不会改变任何内容。")
    return out
