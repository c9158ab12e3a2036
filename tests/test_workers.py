"""CPU stages in worker processes give the same rows as in-process, and small runs start no pool."""

import pandas as pd
import pytest

from wirehouse.flows import workers
from wirehouse.tasks.annotate import annotate_batch
from wirehouse.tasks.extract import extract_batch

HTML = (
    "<html><head><title>Talks in Doha</title></head><body><article><h1>Talks in Doha</h1>"
    "<p>On August 11, Mullah Abdul Ghani Baradar met Russia's special envoy Zamir Kabulov in Doha. "
    "Turkmen officials visited Ashgabat in July, and the talks are to continue next month.</p>"
    "<p>The meeting followed joint military exercises held by Russia with troops from Tajikistan and "
    "Uzbekistan on August 10 near the Afghan border, officials in Moscow said.</p></article></body></html>"
)


def test_planned_workers(monkeypatch):
    monkeypatch.setenv("WIREHOUSE_WORKERS", "2")
    monkeypatch.setenv("WIREHOUSE_POOL_MIN_ITEMS", "100")
    assert workers.planned_workers(99) == 0 and workers.planned_workers(100) == 2
    monkeypatch.setenv("WIREHOUSE_WORKERS", "0")
    assert workers.planned_workers(10_000) == 0
    monkeypatch.setenv("WIREHOUSE_WORKERS", "many")
    assert workers.planned_workers(10_000) == 0   # a bad setting falls back to in-process


@pytest.mark.slow   # a process pool, spaCy in each worker: about 20 s
def test_pool_results_equal_in_process(monkeypatch):
    pages = [{"url": f"https://x.org/{i}", "html": HTML.replace("Doha", "Doha" if i % 2 else "Kabul")} for i in range(4)]
    local_extracted = extract_batch(pages)
    articles = pd.DataFrame(
        {
            "article_id": [f"{i:016x}" for i in range(4)],
            "text": [row["text"] for row in local_extracted],
            "language": ["en"] * 4,
            "published_at": [pd.Timestamp("2021-08-13")] * 4,
        }
    )
    local = annotate_batch(articles)
    monkeypatch.setenv("WIREHOUSE_WORKERS", "2")
    monkeypatch.setenv("WIREHOUSE_POOL_MIN_ITEMS", "1")
    with workers.pool_scope() as ensure:
        n = ensure(len(pages))
        assert n == 2 and workers.active()
        pooled_extracted = workers.run(extract_batch, pages)
        pooled = workers.run(annotate_batch, articles)
    assert not workers.active()
    assert pooled_extracted == local_extracted
    pd.testing.assert_frame_equal(pooled.entities, local.entities)
    pd.testing.assert_frame_equal(pooled.mentions, local.mentions)
    pd.testing.assert_frame_equal(pooled.events, local.events)
    assert len(local.events) >= 2
