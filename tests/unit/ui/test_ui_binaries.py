"""Finding Chromium and chromedriver without selenium: config first, then PATH, and a clear MissingTool."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.errors import ExitCode, MissingTool
from testbed.ui.binaries import find_browser_binaries, real_browser

pytestmark = pytest.mark.unit


def _tool(directory: Path, name: str, body: str = "#!/bin/sh\nexit 0\n") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(body)
    path.chmod(0o755)
    return path


def test_path_lookup_finds_both_and_prefers_chromium_over_chromium_browser(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    driver, browser = _tool(bin_dir, "chromedriver"), _tool(bin_dir, "chromium")
    _tool(bin_dir, "chromium-browser")
    found = find_browser_binaries(search_path=str(bin_dir))
    assert (found.chromedriver, found.chromium) == (driver, browser)


def test_chromium_browser_is_the_fallback_name(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _tool(bin_dir, "chromedriver")
    browser = _tool(bin_dir, "chromium-browser")
    assert find_browser_binaries(search_path=str(bin_dir)).chromium == browser


def test_configured_paths_win_over_path(tmp_path: Path) -> None:
    _tool(tmp_path / "bin", "chromedriver"), _tool(tmp_path / "bin", "chromium")
    driver, browser = _tool(tmp_path / "opt", "my-driver"), _tool(tmp_path / "opt", "my-chromium")
    found = find_browser_binaries({"chromedriver": driver, "chromium": browser}, search_path=str(tmp_path / "bin"))
    assert (found.chromedriver, found.chromium) == (driver, browser)


@pytest.mark.parametrize("present", ["chromium", "chromedriver"])
def test_a_missing_binary_names_the_debian_packages(tmp_path: Path, present: str) -> None:
    _tool(tmp_path / "bin", present)
    with pytest.raises(MissingTool) as caught:
        find_browser_binaries(search_path=str(tmp_path / "bin"))
    missing = "chromedriver" if present == "chromium" else "chromium"
    assert caught.value.message.startswith(f"{missing} not found on PATH")
    assert "apt-get install chromium chromium-driver" in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE


def test_a_configured_path_that_is_not_executable_names_the_field(tmp_path: Path) -> None:
    plain = tmp_path / "chromedriver"
    plain.write_text("not a program")
    with pytest.raises(MissingTool) as caught:
        find_browser_binaries({"chromedriver": plain}, search_path=str(tmp_path))
    assert caught.value.field == "binaries.chromedriver"


def test_the_debian_launcher_resolves_to_the_real_binary_only_when_it_exists(tmp_path: Path) -> None:
    launcher = _tool(tmp_path, "chromium-nonexistent-xyz", "#!/bin/sh\nLIBDIR=/usr/lib/$APPNAME\nexec $LIBDIR/$APPNAME\n")
    assert real_browser(launcher) == launcher  # /usr/lib/chromium-nonexistent-xyz/ does not exist
    elf_like = _tool(tmp_path, "chromium", "\x7fELF...")
    assert real_browser(elf_like) == elf_like

