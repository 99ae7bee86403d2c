"""Config text -> resolved profile, with botocore's own loader reading the text."""

import pytest
from botocore.configloader import load_config

from ssoexec.errors import ConfigError
from ssoexec.profile import (
    BotocoreProfile,
    RoleChainProfile,
    SsoProfile,
    SsoSession,
    load_profile,
)
from tests.conftest import CONFIG, START_URL


def resolve(tmp_path, text, name):
    path = tmp_path / "config"
    path.write_text(text)
    return load_profile(name, load_config(str(path)))


def test_sso_session_profile(tmp_path):
    profile = resolve(tmp_path, CONFIG, "dev")
    assert profile == SsoProfile(
        name="dev",
        session=SsoSession(START_URL, "us-east-1", "corp", ("sso:account:access",)),
        account_id="111111111111",
        role_name="Admin",
        region="eu-west-1",
    )
    assert profile.session.cache_key == "corp"


def test_legacy_profile_is_keyed_by_start_url(tmp_path):
    profile = resolve(tmp_path, CONFIG, "legacy")
    assert isinstance(profile, SsoProfile)
    assert profile.session.name is None
    assert profile.session.scopes is None
    assert profile.session.cache_key == profile.session.start_url


def test_role_chain_of_any_depth(tmp_path):
    profile = resolve(tmp_path, CONFIG, "chained2")
    assert isinstance(profile, RoleChainProfile)
    assert profile.role_arn == "arn:aws:iam::222222222222:role/Auditor"
    middle = profile.source
    assert isinstance(middle, RoleChainProfile)
    assert (middle.external_id, middle.role_session_name, middle.duration_seconds) == (
        "ext-123",
        "ssoexec-test",
        3600,
    )
    assert isinstance(middle.source, SsoProfile) and middle.source.name == "dev"


def test_role_with_its_own_static_keys_as_source(tmp_path):
    text = (
        "[profile self]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = self\n"
        "aws_access_key_id = AKIAX\naws_secret_access_key = s\n"
    )
    profile = resolve(tmp_path, text, "self")
    assert profile.source is None
    assert profile.static_keys.access_key_id == "AKIAX"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[profile p]\naws_access_key_id = AKIAX\naws_secret_access_key = s\n", "static"),
        ("[profile p]\ncredential_process = /bin/echo\n", "process"),
        (
            "[profile p]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Environment\n",
            "role (credential_source)",
        ),
        (
            "[profile p]\nrole_arn = arn:aws:iam::1:role/r\nweb_identity_token_file = /t\n",
            "web identity",
        ),
    ],
)
def test_other_profiles_are_left_to_botocore(tmp_path, text, kind):
    assert resolve(tmp_path, text, "p") == BotocoreProfile("p", kind)


def test_scopes_are_split_and_stripped(tmp_path):
    text = CONFIG.replace(
        "sso_registration_scopes = sso:account:access",
        "sso_registration_scopes = sso:account:access, codewhisperer:x ,",
    )
    profile = resolve(tmp_path, text, "dev")
    assert profile.session.scopes == ("sso:account:access", "codewhisperer:x")


BAD = [
    ("unknown profile", "nosuch", CONFIG, "'nosuch' is not in", "ssoexec list"),
    ("close match", "deb", CONFIG, "'deb' is not in", "did you mean 'dev'"),
    (
        "missing role",
        "p",
        "[profile p]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n"
        "sso_account_id = 1\n",
        "missing sso_role_name",
        "add sso_role_name",
    ),
    (
        "unknown sso-session",
        "p",
        "[profile p]\nsso_session = gone\nsso_account_id = 1\nsso_role_name = r\n",
        "sso-session 'gone', which does not exist",
        "[sso-session gone]",
    ),
    (
        "session lacks region",
        "p",
        "[sso-session s]\nsso_start_url = https://x.awsapps.com/start\n"
        "[profile p]\nsso_session = s\nsso_account_id = 1\nsso_role_name = r\n",
        "missing sso_region",
        "add sso_region",
    ),
    (
        "conflicting start url",
        "p",
        "[sso-session s]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n"
        "[profile p]\nsso_session = s\nsso_start_url = https://y.awsapps.com/start\n"
        "sso_account_id = 1\nsso_role_name = r\n",
        "sets sso_start_url = https://y.awsapps.com/start but its sso-session",
        "remove sso_start_url",
    ),
    (
        "session without account",
        "p",
        "[sso-session s]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n"
        "[profile p]\nsso_session = s\n",
        "no sso_account_id and sso_role_name",
        "add sso_account_id",
    ),
    (
        "no credentials",
        "p",
        "[profile p]\nregion = us-east-1\n",
        "no credentials configured",
        "aws configure sso",
    ),
    (
        "half static keys",
        "p",
        "[profile p]\naws_access_key_id = AKIAX\n",
        "missing aws_secret_access_key",
        "add aws_secret_access_key",
    ),
    (
        "role without source",
        "p",
        "[profile p]\nrole_arn = arn:aws:iam::1:role/r\n",
        "role_arn but no source_profile",
        "add source_profile",
    ),
    (
        "both sources",
        "p",
        "[profile p]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = q\n"
        "credential_source = Environment\n",
        "both source_profile and credential_source",
        "keep one",
    ),
    (
        "missing source",
        "p",
        "[profile p]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = gone\n",
        "source_profile of 'p' 'gone' is not in",
        "ssoexec list",
    ),
    (
        "loop",
        "a",
        "[profile a]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
        "[profile b]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = a\n",
        "source_profile loop: a -> b -> a",
        "make the chain end",
    ),
    (
        "self loop without keys",
        "a",
        "[profile a]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = a\n",
        "source_profile loop: a -> a",
        "make the chain end",
    ),
    (
        "bad duration",
        "p",
        "[profile p]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = q\n"
        "duration_seconds = 1h\n[profile q]\ncredential_process = x\n",
        "duration_seconds = 1h, not a number from 900 to 43200",
        "whole seconds",
    ),
]


@pytest.mark.parametrize(("case", "name", "text", "message", "hint"), BAD, ids=[b[0] for b in BAD])
def test_bad_profiles_say_what_and_what_next(tmp_path, case, name, text, message, hint):
    with pytest.raises(ConfigError) as caught:
        resolve(tmp_path, text, name)
    assert message in caught.value.message
    assert hint in caught.value.hint
    assert caught.value.exit_code == 125
