"""The scale recipes (docs/scale.md): lazy partitions, global line numbers, compact output."""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import BASELINE, random_assessments, run
from iop_placement import recommend
from iop_placement.batch import (
    LINES_CHUNK,
    compact_catalogue,
    is_ok_line,
    score_lines,
    score_numbered,
    score_partition,
    stream_partition,
)
from iop_placement.populations import population

BAD_LINES = ["{not json", "", "[]", json.dumps({**BASELINE, "motivation": "none at all"})]
ROOT = Path(__file__).resolve().parents[1]


def mixed_lines(count: int, seed: int = 8) -> list[str]:
    good = [json.dumps(d) for d in random_assessments(count, seed=seed)]
    return [BAD_LINES[i % len(BAD_LINES)] if i % 5 == 4 else line for i, line in enumerate(good)]


def test_stream_partition_is_lazy_and_equals_score_partition() -> None:
    lines = mixed_lines(200)
    read = 0

    def source() -> Iterator[str]:
        nonlocal read
        for line in lines:
            read += 1
            yield line

    stream = stream_partition(source())
    first = next(stream)
    assert read <= LINES_CHUNK + 1  # one chunk read, not the partition
    assert [first, *stream] == score_partition(lines) == list(score_lines(lines))
    shifted = list(stream_partition(lines[:10], first_line=101))
    assert [json.loads(line)["line"] for line in shifted] == list(range(101, 111))


def spark_like(lines: list[str], partitions: int, seed: int, compact: bool) -> list[str]:
    """Spark's recipe without Spark: zipWithIndex numbers across the whole input, then
    each partition (uneven, as Spark splits a file by bytes) maps on its own."""
    indexed = [(text, index) for index, text in enumerate(lines)]  # rdd.zipWithIndex()
    cuts = sorted(random.Random(seed).sample(range(1, len(lines)), partitions - 1))
    out: list[str] = []
    for start, end in itertools.pairwise([0, *cuts, len(lines)]):
        part = indexed[start:end]
        # .map(lambda p: (p[1] + 1, p[0])).mapPartitions(score_numbered)
        out.extend(score_numbered(((index + 1, text) for text, index in part), compact=compact))
    return out


@pytest.mark.parametrize("compact", [False, True])
def test_spark_recipe_numbers_lines_across_partitions(compact: bool) -> None:
    lines = mixed_lines(300, seed=11)
    got = spark_like(lines, partitions=7, seed=3, compact=compact)
    assert got == list(score_lines(lines, compact=compact))
    assert [json.loads(line)["line"] for line in got] == list(range(1, 301))
    # Numbering per partition (the old recipe) is wrong after the first partition.
    per_partition = [
        line
        for start, end in itertools.pairwise([0, 40, 300])
        for line in score_partition(lines[start:end])
    ]
    assert [json.loads(line)["line"] for line in per_partition][40] == 1


def test_compact_lines_carry_the_recommendation_by_codes_and_rule_ids() -> None:
    data = [*random_assessments(60, seed=2), *population("community_intake", 60, seed=2)]
    lines = [json.dumps(d) for d in data]
    catalogue = compact_catalogue()
    assert catalogue["ruleset"]["sha256"] == recommend(BASELINE).ruleset.sha256
    for answers, text in zip(data, score_lines(lines, compact=True), strict=True):
        assert is_ok_line(text)
        compact = json.loads(text)["compact"]
        rec = recommend(answers)
        assert compact["level"] == rec.level.value
        assert compact["flags"] == [flag.value for flag in rec.flags]
        assert compact["reasons"] == [reason.rule_id for reason in rec.reasons]
        assert all(rule_id in catalogue["rules"] for rule_id in compact["reasons"])
        ratings = dict(zip(catalogue["dimensions"], compact["ratings"], strict=True))
        assert ratings == {d.dimension.value: d.rating for d in rec.dimensions}
        assert compact["alternative"] == (rec.alternative.level.value if rec.alternative else None)
        assert compact["safety_override"] == rec.safety_override
        assert rec.asam is not None
        assert compact["asam"] == [f"{a.edition}:{a.code}" for a in rec.asam.levels]


def sizes(lines: list[str]) -> tuple[float, float]:
    full = [len(line.encode()) + 1 for line in score_lines(lines)]
    compact = [len(line.encode()) + 1 for line in score_lines(lines, compact=True)]
    return sum(full) / len(full), sum(compact) / len(compact)


def test_compact_output_is_a_small_fraction_of_the_full_output() -> None:
    for data in (random_assessments(100, seed=1), population("community_intake", 100, seed=1)):
        full, compact = sizes([json.dumps(d) for d in data])
        assert compact < full / 10, (full, compact)
    # docs/scale.md states the sizes measured on these samples, to the nearest 0.1 kB.
    page = (ROOT / "docs" / "scale.md").read_text(encoding="utf-8")
    full, compact = sizes([json.dumps(d) for d in population("community_intake", 1000, seed=0)])
    assert f"{full / 1000:.1f} kB" in page
    assert f"{compact / 1000:.2f} kB" in page


def test_cli_compact_and_its_catalogue(tmp_path: Path) -> None:
    lines = mixed_lines(20)
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    code, out, _ = run("assess", "--jsonl", str(source), "--compact")
    assert code == 1  # some lines are bad
    assert out.splitlines() == list(score_lines(lines, compact=True))
    code, out, _ = run("rules", "--compact-catalogue")
    assert code == 0
    assert json.loads(out) == compact_catalogue()
    code, _, err = run("assess", str(source), "--compact")
    assert code == 2
    assert "--compact apply only with --jsonl" in err


def test_dask_recipe_parts_end_with_a_newline_and_number_lines_per_file(tmp_path: Path) -> None:
    dask = pytest.importorskip("dask")
    import dask.bag as db

    lines = mixed_lines(90)
    (tmp_path / "in").mkdir()
    for part in range(3):
        (tmp_path / "in" / f"part-{part}.jsonl").write_text(
            "\n".join(lines[part * 30 : part * 30 + 30]) + "\n"
        )
    page = (ROOT / "docs" / "scale.md").read_text(encoding="utf-8")
    assert ".map_partitions(stream_partition)" in page
    assert "last_endline=True" in page
    bag = (
        db.read_text(str(tmp_path / "in" / "*.jsonl"), blocksize=None)  # type: ignore[no-untyped-call]
        .map(str.rstrip)
        .map_partitions(stream_partition)
    )
    with dask.config.set(scheduler="processes", num_workers=2):
        bag.to_textfiles(str(tmp_path / "out" / "*.jsonl"), last_endline=True)
    joined = ""
    for part in range(3):
        text = (tmp_path / "out" / f"{part}.jsonl").read_text()
        assert text.endswith("\n")
        assert text.splitlines() == score_partition(lines[part * 30 : part * 30 + 30])
        joined += text
    assert len(joined.splitlines()) == 90  # cat of the parts: no lines merged


def test_pyspark_recipe_in_local_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs where PySpark and a JVM are installed (not in the test extra: docs/scale.md)."""
    sql = pytest.importorskip("pyspark.sql")

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # the workers import this package
    lines = mixed_lines(120, seed=5)
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    page = (ROOT / "docs" / "scale.md").read_text(encoding="utf-8")
    (recipe,) = re.findall(r"```python\n(# Spark.*?)```", page, flags=re.DOTALL)
    recipe = recipe.replace("s3a://bucket/assessments.jsonl", str(source))
    recipe = recipe.replace("s3a://bucket/recommendations", str(tmp_path / "out"))
    spark = sql.SparkSession.builder.master("local[2]").getOrCreate()
    try:
        exec(compile(recipe, "scale_spark_recipe", "exec"), {"spark": spark})
    finally:
        spark.stop()
    parts = sorted((tmp_path / "out").glob("part-*"))
    assert len(parts) > 1
    got = "".join(part.read_text() for part in parts).splitlines()
    assert got == list(score_lines(lines))
