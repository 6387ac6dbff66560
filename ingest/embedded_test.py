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


def test_data_preparation_leaves_out_none_of_the_generated_files(tmp_path):
    """The completion marker is the generator's own file: a default run lists nothing as left out."""
    from ingest.data_prep import scan_image_folders

    records, _, layout = scan_image_folders(embedded.write_digits_pngs(tmp_path / "digits", limit_per_class=3))
    assert len(records) == 30 and layout.skipped == []


def test_a_folder_from_the_earlier_marker_name_is_replaced_not_refused(tmp_path):
    """Data generated before the marker was hidden carries ``_COMPLETE``: it is ours, so it is regenerated."""
    folder = tmp_path / "digits"
    (folder / "0").mkdir(parents=True)
    (folder / "0" / "old.png").write_bytes(b"old")
    (folder / "_COMPLETE").write_text("an-older-generator")
    embedded.write_digits_pngs(folder, limit_per_class=3)
    assert not (folder / "_COMPLETE").exists() and not (folder / "0" / "old.png").exists()
    assert len(list(folder.rglob("*.png"))) == 30
