"""Issue 9, end to end through the installed script: inputs that used to fall back silently
(`-p ''`), lose their `--`, or end in `unexpected X` get their own error line and hint."""

import pytest

from tests.conftest import CONFIG, START_URL

SUBCOMMAND_FORMS = [
    ["-p", ""],
    ["--profile", ""],
    ["--profile="],
    ["-p", "", "export"],
    ["export", "-p", ""],
    ["export", "--profile="],
    ["doctor", "-p", ""],
    ["credential-process", "-p", ""],
    ["login", "-p", ""],
    ["logout", "--profile", ""],
    ["login", "--sso-session", ""],
]


@pytest.mark.parametrize("args", SUBCOMMAND_FORMS, ids=" ".join)
def test_empty_profile_is_a_usage_error(sandbox, tmp_path, args):
    """`ssoexec -p "$ENV" -- terraform apply` with ENV unset must not run against the profile
    AWS_PROFILE names (nor default): exit 2, and nothing runs or changes."""
    sandbox.login()
    marker = tmp_path / "ran"
    before = sandbox.files()
    runs = not any(word in args for word in ("export", "doctor", "login", "logout"))
    tail = ("--", "touch", str(marker)) if runs and "credential-process" not in args else ()
    result = sandbox.run(*args, *tail, env={"AWS_PROFILE": "dev"})
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("ssoexec: error: ") and "empty" in lines[0], lines[0]
    assert lines[1].startswith("hint: "), lines[1]
    assert result.stdout == ""
    assert not marker.exists()
    assert sandbox.files() == before
    assert sum(sandbox.emulator.calls.values()) == 0


@pytest.mark.parametrize("args", [["--region="], ["-p", "dev", "--region", ""]], ids=" ".join)
def test_dashes_keep_a_subcommand_name_a_command_on_the_typer_path(sandbox, tmp_path, args):
    """Input the fast path leaves to typer (an empty --region), then `-- logout --all`: the
    program logout (not found here), never ssoexec's own (which would sign out of everything);
    and `-- list` runs the program list."""
    token = sandbox.login()
    result = sandbox.run(*args, "--", "logout", "--all", env={"AWS_PROFILE": "dev"})
    assert result.returncode == 127, result.stderr
    assert token.exists()
    assert sandbox.emulator.calls["Logout"] == 0
    program = tmp_path / "bin" / "list"
    program.parent.mkdir(exist_ok=True)
    program.write_text('#!/bin/sh\necho "the program list: $SSOEXEC_PROFILE"\n')
    program.chmod(0o755)
    path = f"{program.parent}:{sandbox.env['PATH']}"
    result = sandbox.run(*args, "--", "list", env={"PATH": path, "AWS_PROFILE": "dev"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the program list: dev\n"


@pytest.fixture
def refused(sandbox):
    """Run ssoexec ARGS (and `-- touch MARKER` unless told); check it failed cleanly with one
    error line and one hint, nothing ran, nothing changed; return the two lines."""

    def run(*args, status=125, command=True, env=None):
        sandbox.login()
        marker = sandbox.tmp / "the-command-ran"
        before = sandbox.files()
        tail = ("--", "touch", str(marker)) if command else ()
        result = sandbox.run(*args, *tail, env=env)
        lines = result.stderr.splitlines()
        assert result.returncode == status, result.stderr
        assert len(lines) == 2, result.stderr
        assert lines[0].startswith("ssoexec: error: "), lines[0]
        assert lines[1].startswith("hint: "), lines[1]
        assert "unexpected" not in result.stderr
        assert result.stdout == ""
        assert not marker.exists()
        assert sandbox.files() == before
        return lines

    return run


def test_a_very_deep_role_chain(sandbox, refused):
    chain = "".join(
        f"[profile c{n}]\nrole_arn = arn:aws:iam::333333333333:role/R{n}\n"
        f"source_profile = {'dev' if n == 0 else f'c{n - 1}'}\n"
        for n in range(600)
    )
    sandbox.write_config(CONFIG + chain)
    error, hint = refused("-p", "c599")
    assert "role chain" in error and "c599" in error, error
    assert "source_profile" in hint, hint
    assert sum(sandbox.emulator.calls.values()) == 0


@pytest.mark.parametrize(
    "args, env, status, words",
    [
        (["-p", "dev", "--region", "x y"], None, 2, "--region 'x y' is not a region name"),
        (["-p", "chained", "--region=../x"], None, 2, "--region '../x' is not a region name"),
        (["-p", "dev"], {"AWS_REGION": "../x"}, 125, "AWS_REGION '../x' is not a region name"),
        (["-p", "chained"], {"AWS_DEFAULT_REGION": "a/b"}, 125, "AWS_DEFAULT_REGION 'a/b'"),
        (["-p", "bad-region"], None, 125, "profile 'bad-region' has region = x y,"),
        (["-p", "bad-sso-region"], None, 125, "sso_region = ../x"),
        (["-p", "dev", "export"], {"AWS_REGION": "../x"}, 125, "AWS_REGION '../x'"),
        (["-p", "dev", "--region", "x y", "doctor"], None, 2, "--region 'x y'"),
        (["credential-process", "-p", "bad-region"], None, 125, "region = x y"),
    ],
)
def test_a_region_that_is_not_a_region_name(sandbox, refused, args, env, status, words):
    sandbox.write_config(
        CONFIG + "[profile bad-region]\nsso_session = corp\nsso_account_id = 111111111111\n"
        "sso_role_name = Admin\nregion = x y\n"
        "[sso-session bad]\nsso_start_url = https://example.com/start\nsso_region = ../x\n"
        "[profile bad-sso-region]\nsso_session = bad\nsso_account_id = 111111111111\n"
        "sso_role_name = Admin\n"
    )
    command = not any(word in args for word in ("export", "doctor", "credential-process"))
    error, hint = refused(*args, status=status, env=env, command=command)
    assert words in error, error
    assert "like us-east-1" in hint or "eu-west-1" in hint, hint
    assert sum(sandbox.emulator.calls.values()) == 0


def test_an_empty_command_name_is_not_found(sandbox, refused):
    """As env(1): `env ''` says No such file or directory and exits 127."""
    error, hint = refused("-p", "dev", "--", "", "arg", status=127, command=False)
    assert "empty" in error, error
    assert "after `--`" in hint, hint
    assert sum(sandbox.emulator.calls.values()) == 0


@pytest.mark.parametrize(
    "template",
    ["{account_name:>300000000}", "{account_name!r}", "{role_name:{account_id}}", "{0}"],
)
def test_a_profile_template_with_a_format_spec(sandbox, refused, template):
    error, hint = refused(
        "configure", "--start-url", START_URL, "--sso-region", "us-east-1",
        "--profile-template", template, status=2, command=False,
    )  # fmt: skip
    assert "--profile-template" in error, error
    assert "{account_name}" in hint, hint


@pytest.mark.parametrize(
    "content, words, hint",
    [
        (b"\xef\xbb\xbf" + CONFIG.encode(), "byte order mark", "without a BOM"),
        (CONFIG.encode() + b"[profile caf\xe9]\nregion = eu-west-1\n", "not UTF-8", "UTF-8"),
    ],
    ids=["bom", "latin-1"],
)
def test_a_config_that_is_not_plain_utf8(sandbox, refused, content, words, hint):
    sandbox.config.write_bytes(content)
    error, their_hint = refused("-p", "dev")
    assert words in error and str(sandbox.config) in error, error
    assert "duplicate" not in error + their_hint
    assert hint in their_hint, their_hint


@pytest.mark.parametrize(
    "where", ["profile name", "config value", "region", "template", "session name", "start URL"]
)
def test_long_values_are_cut_in_messages(sandbox, refused, where):
    big = "x" * 100_000
    configure = ("configure", "--sso-region", "us-east-1")
    if where == "profile name":
        error, hint = refused("-p", big)
    elif where == "template":
        template = "{account_name}" + big + "{nope}"
        args = (*configure, "--start-url", START_URL, "--profile-template", template)
        error, hint = refused(*args, status=2, command=False)
    elif where == "session name":
        args = (*configure, "--start-url", START_URL, "--sso-session", big + " y")
        error, hint = refused(*args, status=2, command=False)
    elif where == "start URL":
        error, hint = refused(*configure, "--start-url", big, status=2, command=False)
    elif where == "config value":
        sandbox.write_config(CONFIG.replace("duration_seconds = 3600", f"duration_seconds = {big}"))
        error, hint = refused("-p", "chained")
    else:
        error, hint = refused("-p", "dev", env={"AWS_REGION": big + " y"})
    assert len(error) < 400 and len(hint) < 400, (len(error), len(hint))
    assert "more characters" in error, error


@pytest.mark.parametrize("key", ["sso_region", "sso_start_url"])
def test_a_session_key_missing_is_blamed_on_the_sso_session_section(sandbox, refused, key):
    sandbox.write_config(CONFIG.replace(f"{key} = ", f"# {key} = ", 1))
    error, hint = refused("-p", "dev")
    assert f"missing {key}" in error, error
    assert f"add {key} to [sso-session corp]" in hint, hint
    assert "[profile dev]" not in hint, hint
