"""newsmill as users install it: one import root that their own modules cannot shadow, and a
wheel and an sdist that stand on their own."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from newsmill.schemas.tables import TABLES
from tests.conftest import ROOT, SAMPLES
from tests.flows.test_cli_samples import EXPECTED, outcomes

PACKAGE_SOURCES = ("pyproject.toml", "README.md", "flows", "tasks", "schemas")


def python(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([*args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_folder_with_its_own_tasks_flows_and_schemas_does_not_shadow_newsmill(
    tmp_path: Path,
) -> None:
    (tmp_path / "tasks.py").write_text("WHO = 'user'\n")
    for package in ("flows", "schemas"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("WHO = 'user'\n")
    check = (
        "import flows, schemas, tasks\n"
        "from newsmill.flows.pipeline import newsmill_flow\n"
        "from newsmill.schemas.tables import TABLES\n"
        "from newsmill.tasks.text.clean import clean_text\n"
        "assert flows.WHO == schemas.WHO == tasks.WHO == 'user'\n"
        "print(newsmill_flow.name, len(TABLES), clean_text('a   b').paragraphs[0])\n"
    )
    # `python -c` puts the working folder first on sys.path, as a user's script does
    assert python(sys.executable, "-c", check, cwd=tmp_path).split() == [
        "newsmill",
        str(len(TABLES)),
        "a",
        "b",
    ]
    usage = python(sys.executable, "-m", "newsmill.flows.cli", "--help", cwd=tmp_path)
    assert "newsmill run" in usage


def installed(venv: Path, package: Path, *pip_options: str) -> Path:
    """A new virtual environment with `package` installed and nothing else of newsmill:
    its folder of scripts. Its dependencies are this environment's, reached through a .pth
    line (a .pth-added folder's own .pth files are not run, so the editable newsmill of
    this checkout stays out of it)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"]
    Path(purelib, "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index"]
    python(*pip, *pip_options, str(package), cwd=venv)
    return venv / "bin"


def test_wheel_and_sdist_build_install_and_run_the_samples(
    tmp_path: Path, prefect_env: dict[str, str]
) -> None:
    source, dist = tmp_path / "source", tmp_path / "dist"
    source.mkdir()
    for name in PACKAGE_SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name)  # type: ignore[operator]
    # the wheel is built from the sdist: what the sdist lacks, the wheel lacks too
    build = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist)]
    python(*build, str(source), cwd=tmp_path)
    [wheel], [sdist] = dist.glob("*.whl"), dist.glob("*.tar.gz")

    scripts = installed(tmp_path / "wheel-venv", wheel)
    where = "import newsmill.tasks; print(newsmill.tasks.__file__)"
    assert python(str(scripts / "python"), "-c", where, cwd=tmp_path).startswith(
        str(scripts.parent)
    )
    lake = tmp_path / "lake"
    run = [str(scripts / "newsmill"), "run", str(SAMPLES), "--lake", str(lake), "--quiet"]
    python(*run, cwd=tmp_path, env=prefect_env)
    assert outcomes(lake) == {source: [outcome] for source, outcome in EXPECTED.items()}

    scripts = installed(tmp_path / "sdist-venv", sdist, "--no-build-isolation")
    # the entity rules read their word lists from package data
    find = (
        "from newsmill.tasks.mentions.entities import find_entities\n"
        "text = 'Prime Minister Jacinda Ardern spoke in Auckland.'\n"
        "print([e.text for e in find_entities(text) if e.label == 'PERSON'])"
    )
    assert "Jacinda Ardern" in python(str(scripts / "python"), "-c", find, cwd=tmp_path)
