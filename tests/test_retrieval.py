"""Hybrid retrieval on a real Chroma index with the bundled embedder."""

from assistant.retrieve import PlanRetriever


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
        assert h.chunk.plan == "women"


def test_langchain_retriever(assistant):
    lc = PlanRetriever(retriever=assistant.retriever, k=3)
    docs = lc.invoke("婚前医学检查率")
    assert len(docs) == 3 and "section" in docs[0].metadata
    assert "婚前医学检查率" in docs[0].metadata["section"]
