"""The embedded datasets: deterministic, left untouched while current, regenerated when the generator changes."""

from ingest import embedded


def _snapshot(folder):
    return {p.relative_to(folder): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_unchanged_generator_leaves_the_files_untouched(tmp_path):
    first = _snapshot(embedded.write_digits_pngs(tmp_path / "digits", limit_per_class=3))
    assert len(first) == 31  # 30 PNGs and the marker
    assert _snapshot(embedded.write_digits_pngs(tmp_path / "digits", limit_per_class=3)) == first


def test_a_changed_generator_or_parameters_regenerate(tmp_path, monkeypatch):
    folder = embedded.write_shapes_dataset(tmp_path / "shapes", count=4, size=16)
    before = _snapshot(folder)
    monkeypatch.setattr(embedded, "generator_version", lambda: "a-newer-generator")
    after = _snapshot(embedded.write_shapes_dataset(tmp_path / "shapes", count=4, size=16))
    assert after.keys() == before.keys()
    assert all(after[name][1] != before[name][1] for name in after)  # rewritten, so the TFX input changes
    assert sorted(p.name for p in (tmp_path / "shapes" / "images").iterdir()) == [f"shape_000{i}.png" for i in range(4)]
    bigger = embedded.write_shapes_dataset(tmp_path / "shapes", count=5, size=16)
    assert len(list((bigger / "images").iterdir())) == 5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind
