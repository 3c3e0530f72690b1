"""The plots directory is redrawn, not added to: PNGs of an earlier draw (a panel not drawn this time, an
overview not asked for) are removed; files the command does not write are never touched."""

from __future__ import annotations

from plot_support import ASPO_LOG, GRPO_LOG, assert_real_png

from archer.plot.__main__ import main


def _stale(out, names):
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        (out / name).write_bytes(b"\x89PNG\r\n\x1a\n stale")


def test_a_redraw_with_fewer_panels_leaves_no_png_of_the_earlier_draw(tmp_path, capsys):
    out = tmp_path / "figs"
    _stale(out, ["clip_upper.png", "is_ratio.png", "entropy.png", "overview.png"])
    (out / "my_notes.txt").write_text("keep me")
    (out / "my_figure.png").write_bytes(b"mine")
    (out / "reward.png.bak").write_bytes(b"mine too")
    assert main(["dynamics", "--run", f"{GRPO_LOG}:GRPO", "--out", str(out), "--panels", "entropy", "--no-overview"]) == 0
    assert capsys.readouterr().out.splitlines() == [str(out / "entropy.png")]
    assert sorted(p.name for p in out.iterdir()) == ["entropy.png", "my_figure.png", "my_notes.txt", "reward.png.bak"]
    assert_real_png(out / "entropy.png")  # rewritten, not the stale bytes
    assert (out / "my_notes.txt").read_text() == "keep me" and (out / "my_figure.png").read_bytes() == b"mine"


def test_a_panel_no_run_logged_this_time_leaves_no_old_png(tmp_path):
    out = tmp_path / "figs"
    _stale(out, ["is_ratio.png"])  # drawn for an ASPO run before; GRPO logs no actor/aspo/is_ratio_mean_*
    assert main(["dynamics", "--run", f"{GRPO_LOG}:GRPO", "--out", str(out), "--panels", "is_ratio,entropy"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["entropy.png", "overview.png"]


def test_a_directory_named_like_a_panel_is_not_removed(tmp_path):
    out = tmp_path / "figs"
    (out / "reward.png").mkdir(parents=True)
    assert main(["dynamics", "--run", f"{ASPO_LOG}:ASPO", "--out", str(out), "--panels", "entropy", "--no-overview"]) == 0
    assert (out / "reward.png").is_dir()


def test_a_failed_draw_removes_nothing(tmp_path):
    out = tmp_path / "figs"
    _stale(out, ["clip_upper.png", "overview.png"])
    # GRPO (verl's vanilla loss) logs none of these panels' metrics: no figure, exit 2, the old draw stays
    assert main(["dynamics", "--run", f"{GRPO_LOG}:GRPO", "--out", str(out), "--panels", "clip_upper,is_ratio"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["clip_upper.png", "overview.png"]
