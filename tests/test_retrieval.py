"""Hybrid retrieval on a real Chroma index with the bundled embedder; the keyword side on the real chunks."""

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from assistant.chunking import chunk_document
from assistant.keywords import KeywordIndex, top
from assistant.query import normalize
from assistant.retrieve import PlanRetriever, Retriever
from assistant.targets import row_name
from assistant.text import char_bigrams, search_terms
from assistant.thresholds import INDICATOR_NAMED, INDICATOR_NAMED_WHOLE, INDICATOR_TIE

QUESTIONS = [
    "婚前医学检查率目标是多少",
    "到2025年，嘉兴的孕产妇死亡率要控制在多少？",
    "妇女规划对预防和制止家庭暴力有哪些措施？",
    "儿童规划由谁负责实施？",
    "高中阶段毛入学率是多少？2025年目标呢？",
    "托育服务有什么措施",
    "女高管比例有要求吗",
    "规划里是不是说“各县（市、区）至少设有1家危重新生儿救治中心”？",
    "家庭教育指导服务",
    "2030年婴儿死亡率目标是多少",
]


@pytest.fixture(scope="module")
def chunks(corpus):
    return [c for d in corpus.documents.values() for c in chunk_document(d)]


@pytest.fixture(scope="module")
def retriever(chunks):
    return Retriever(chunks)


def test_bm25_dense_and_fusion(assistant):
    r = assistant.retriever
    assert "婚前医学检查率" in r.search_text("婚前医学检查率", 5)[0][0].text
    dense = r.search_vector("孕产妇安全分娩", 5)
    assert any("保障孕产妇安全分娩" in c.section for c, _ in dense)
    hits = assistant.retrieve("产前筛查率要达到多少")
    assert any("保障孕产妇安全分娩" in h.chunk.section for h in hits[:3])
    assert all(h.score > 0 for h in hits) and hits == sorted(hits, key=lambda h: -h.score)


def test_indicator_lookup_ranks_the_row_first(assistant):
    hits = assistant.retrieve("婴儿死亡率目标")
    assert hits[0].chunk.kind == "indicator" and "婴儿死亡率" in hits[0].chunk.section
    assert hits[0].ranks.get("indicator") == 1


def test_plan_filter_applies_to_every_retriever(assistant):
    for h in assistant.retrieve("家庭教育指导服务", plan="women"):
        assert h.chunk.plan in ("women", "")  # "": the cover notice, every plan's of its document


def test_a_plans_scope_keeps_its_documents_front_matter(assistant):
    """The cover notice is of no one plan but is each plan's: a question naming a plan still finds it,
    in the keyword and in the vector search (Chroma's filter), and no other plan's chunk comes in."""
    r = assistant.retriever
    front = next(c for c in r.chunks if c.plan == "")
    q = front.text[:80]  # the notice's own opening: its nearest chunk, by words and by meaning
    for search in (r.search_text, r.search_vector):
        got = search(q, 10, plans=["women"])
        assert any(c.plan == "" for c, _ in got), search.__name__
        assert all(c.plan in ("women", "") for c, _ in got)


def test_langchain_retriever(assistant):
    lc = PlanRetriever(retriever=assistant.retriever, k=3)
    docs = lc.invoke("婚前医学检查率")
    assert len(docs) == 3 and "section" in docs[0].metadata
    assert "婚前医学检查率" in docs[0].metadata["section"]


class TestKeywordIndex:
    def test_ranks_as_rank_bm25_okapi(self, chunks, retriever):
        """The sparse matrix gives rank_bm25's BM25Okapi ranking (the thresholds were tuned on it)."""
        okapi = BM25Okapi([search_terms(c.embed_text) or ["∅"] for c in chunks])
        for q in QUESTIONS + [QUESTIONS[0] * 3]:  # a repeated question: terms counted as often as asked
            terms = search_terms(normalize(q))
            expected = okapi.get_scores(terms)
            ranked = [i for i in sorted(range(len(chunks)), key=lambda i: -expected[i]) if expected[i] > 0]
            got = retriever.search_text(normalize(q), 40)
            assert [c.id for c, _ in got] == [chunks[i].id for i in ranked[:40]], q
            np.testing.assert_allclose([s for _, s in got], [expected[i] for i in ranked[:40]], rtol=1e-12)

    def test_filters_apply_inside_the_search(self, chunks, retriever):
        """n hits of the plan asked, not the plan's share of the first n overall."""
        q = normalize("妇女儿童健康服务")
        everything = retriever.search_text(q, len(chunks))
        for plan in ("women", "children"):
            want = [c.id for c, _ in everything if c.plan in (plan, "")][:10]  # "": the cover notice
            assert [c.id for c, _ in retriever.search_text(q, 10, plans=[plan])] == want
        doc = chunks[0].doc
        assert [c.doc for c, _ in retriever.search_text(q, 10, docs=[doc])] == [doc] * 10
        assert retriever.search_text(q, 10, docs=["no-such-document"]) == []

    def test_save_and_load(self, chunks, retriever, tmp_path):
        retriever.keywords.save(tmp_path)
        loaded = KeywordIndex.load(tmp_path, chunks)
        assert loaded is not None and loaded.vocab == retriever.keywords.vocab
        again = Retriever(chunks, keywords=loaded)
        for q in QUESTIONS:
            assert again.search_text(normalize(q), 40) == retriever.search_text(normalize(q), 40)
        assert again.idf == retriever.idf
        assert KeywordIndex.load(tmp_path, chunks[1:]) is None  # built from other chunks: build again
        assert KeywordIndex.load(tmp_path / "missing", chunks) is None


def test_top_selects_without_sorting_all_and_keeps_ties_in_order():
    scores = np.array([0.0, 2.0, 1.0, 2.0, 2.0, 0.5, 3.0])
    assert top(scores, 3) == [(6, 3.0), (1, 2.0), (3, 2.0)]
    assert top(scores, 10) == [(6, 3.0), (1, 2.0), (3, 2.0), (4, 2.0), (2, 1.0), (5, 0.5)]
    assert top(scores, 0) == [] and top(np.zeros(4), 2) == []


def test_indicator_index_matches_a_scan_of_every_row(retriever):
    """The bigram index finds what a scan of every row with set operations finds, in the same order."""

    def scan(query, plans=None, key_terms=None):
        q, terms, out = char_bigrams(query), [t for t in (key_terms or []) if len(t) > 1], []
        for c in retriever.indicators:
            name = row_name(c)
            core = name.rsplit("（", 1)[0] if name.endswith("）") else name
            grams = char_bigrams(core)
            if not grams or (plans and c.plan not in plans):
                continue
            forward = sum(retriever.weight(g) for g in grams & q) / sum(retriever.weight(g) for g in grams)
            whole = bool(terms) and all(t in core for t in terms)
            if forward >= INDICATOR_NAMED or (whole and forward >= INDICATOR_NAMED_WHOLE):
                out.append((c.id, forward, whole))
        out.sort(key=lambda m: (-m[1], not m[2]))
        best = out[0] if out else None
        return [m for m in out if m is best or (m[2] and best[2]) or m[1] >= best[1] - INDICATOR_TIE]

    asked = QUESTIONS + ["高中阶段毛入学率", "孕产妇死亡率和婴儿死亡率", "儿童青少年总体近视率"]
    for q in asked:
        for plans in (None, ["children"]):
            for terms in (None, search_terms(q)):
                found = retriever.match_indicators(normalize(q), plans, terms)
                expected = scan(normalize(q), plans, terms)
                assert [m.chunk.id for m in found] == [m[0] for m in expected], q
                assert [m.whole for m in found] == [m[2] for m in expected], q
                np.testing.assert_allclose([m.score for m in found], [m[1] for m in expected], rtol=1e-12)
    assert retriever.match_indicators(normalize("高中阶段毛入学率"))[0].chunk.kind == "indicator"


def test_long_question_reads_each_term_once(retriever):
    """Terms asked 100 times score 100 times as much, at the cost of reading them once."""
    q = normalize("婚前医学检查率目标是多少")
    once = retriever.keywords.scores(search_terms(q))
    many = retriever.keywords.scores(search_terms(q) * 100)
    np.testing.assert_allclose(many, once * 100, rtol=1e-12)
