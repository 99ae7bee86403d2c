"""The shape of the code: no import circles, and a plain run that loads only what it needs."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ssoexec"


def imports_of(path: Path) -> set[str]:
    """The ssoexec modules `path` imports, at the top or inside functions, leaving out what
    an `if TYPE_CHECKING:` block names (never imported when the program runs)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for node in ast.walk(stmt)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("ssoexec."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "ssoexec":
                found.update(f"ssoexec.{a.name}" for a in node.names)
            elif node.module.startswith("ssoexec."):
                found.add(node.module)
    return found


def module_graph() -> dict[str, set[str]]:
    modules = {
        ".".join(("ssoexec", *p.relative_to(PACKAGE).with_suffix("").parts)): p
        for p in PACKAGE.rglob("*.py")
        if p.stem != "__init__"
    }
    return {name: imports_of(path) & set(modules) - {name} for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, each once, as the path that closes it."""
    found, done = [], set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            found.append([*path[path.index(name) :], name])
            return
        if name in done:
            return
        for target in sorted(graph.get(name, ())):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    return found


def test_the_circle_finder_finds_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_graph_reads_real_imports():
    graph = module_graph()
    assert "ssoexec.plan" in graph["ssoexec.run"]
    assert "ssoexec.errors" in graph["ssoexec.entry"]
    assert "ssoexec.doctor.findings" in graph["ssoexec.doctor.token"]


def test_no_module_imports_one_that_imports_it_back():
    assert circles(module_graph()) == []


def test_the_plain_run_loads_neither_typer_nor_psutil_nor_login_nor_server(sandbox):
    sandbox.login("corp")
    result = sandbox.run("-p", "dev", "--", "true", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert {"ssoexec.run", "botocore.client"} <= imported  # the check sees the real imports
    for heavy in ("typer", "click", "rich", "psutil", "ssoexec.login", "ssoexec.server"):
        assert not any(name == heavy or name.startswith(heavy + ".") for name in imported), heavy
    assert "ssoexec.loopback" not in imported and "ssoexec.cli" not in imported
    # With no agent to feed and nobody there to start one, none of the hand-off's code either;
    # and direct.py only for a role named without a profile.
    for unused in ("ssoexec.agent.handoff", "ssoexec.agent.fetch", "ssoexec.coredump", "ctypes"):
        assert unused not in imported, unused
    assert "ssoexec.direct" not in imported


def test_credential_process_loads_no_typer(sandbox):
    sandbox.login("corp")
    result = sandbox.run("credential-process", "-p", "dev", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert {"ssoexec.export", "botocore.client"} <= imported  # the check sees the real imports
    for heavy in ("typer", "click", "rich", "psutil", "ssoexec.cli", "ssoexec.login"):
        assert not any(name == heavy or name.startswith(heavy + ".") for name in imported), heavy


def test_a_warm_run_and_a_warm_credential_process_load_no_botocore(sandbox):
    """Served by the agent, a run and credential-process load only the stdlib and the light
    stages: no botocore, typer, psutil, nor the profile, token or credentials code."""
    sandbox.login("corp")
    on = {"SSOEXEC_AGENT": "", "SSOEXEC_AGENT_IDLE": "300"}
    assert sandbox.run("agent", "start", env=on).returncode == 0
    assert sandbox.run("-p", "dev", "--", "true", env=on).returncode == 0  # the agent fetches
    calls = sandbox.emulator.calls["GetRoleCredentials"]
    for argv in (["-p", "dev", "--", "true"], ["credential-process", "-p", "dev"]):
        result = sandbox.run(*argv, env={**on, "PYTHONPROFILEIMPORTTIME": "1"})
        assert result.returncode == 0, result.stderr
        imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
        assert "ssoexec.agent.client" in imported  # the check sees the real imports
        for heavy in ("botocore", "boto3", "typer", "click", "rich", "psutil", "urllib3"):
            assert not any(n == heavy or n.startswith(heavy + ".") for n in imported), heavy
        for stage in ("ssoexec.resolve", "ssoexec.profile", "ssoexec.credentials", "ssoexec.cli"):
            assert stage not in imported, stage
    assert sandbox.emulator.calls["GetRoleCredentials"] == calls


def test_a_subcommand_loads_neither_pydantic_nor_rich(sandbox):
    """typer 0.29 builds a pydantic adapter for every parameter (about 0.2 s of CPU per
    subcommand); the typer ssoexec pins does not, and renders plain text without rich."""
    result = sandbox.run("agent", "status", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 3, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert {"ssoexec.cli", "typer.main"} <= imported  # the check sees the real imports
    for heavy in ("pydantic", "pydantic_core", "rich"):
        assert not any(name == heavy or name.startswith(heavy + ".") for name in imported), heavy


def test_the_agents_fetch_loads_no_typer(sandbox):
    """The agent runs `agent fetch` on every miss: the cold path without the CLI's cost."""
    sandbox.login("corp")
    result = sandbox.run("agent", "fetch", "-p", "dev", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert {"ssoexec.agent.fetch", "botocore.client"} <= imported  # it sees the real imports
    for heavy in ("typer", "click", "rich", "psutil", "ssoexec.cli", "ssoexec.login"):
        assert not any(name == heavy or name.startswith(heavy + ".") for name in imported), heavy
