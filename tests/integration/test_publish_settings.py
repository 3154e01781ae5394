"""Publishing settings read from a config entry: set up only when every part of them is valid."""

from __future__ import annotations

from custom_components.powerstats.publish_settings import (
    CONF_GITHUB_REPOSITORY,
    CONF_GITHUB_TOKEN,
    CONF_PUBLISH_TIME,
    PublishSettings,
    publish_target,
)

TOKEN = {CONF_GITHUB_TOKEN: "github_pat_x"}


def test_a_repository_gives_the_target_it_names() -> None:
    target = publish_target({CONF_GITHUB_REPOSITORY: "me/energy"})
    assert target is not None
    assert (target.owner, target.name) == ("me", "energy")


def test_no_repository_or_one_github_would_refuse_means_publishing_is_not_set_up() -> None:
    assert publish_target({}) is None
    assert publish_target({CONF_GITHUB_REPOSITORY: "not a repository"}) is None
    assert PublishSettings.from_entry(TOKEN, {CONF_GITHUB_REPOSITORY: "not a repository"}) is None


def test_settings_with_a_nightly_time_that_is_no_time_are_not_set_up() -> None:
    options = {CONF_GITHUB_REPOSITORY: "me/energy", CONF_PUBLISH_TIME: "25:99"}
    assert PublishSettings.from_entry(TOKEN, options) is None
    settings = PublishSettings.from_entry(TOKEN, {**options, CONF_PUBLISH_TIME: "03:30:00"})
    assert settings is not None
    assert settings.nightly.hour == 3


def test_the_token_is_kept_out_of_the_settings_repr() -> None:
    # A debug line, an assertion or a traceback that prints the settings must not print it.
    settings = PublishSettings.from_entry(TOKEN, {CONF_GITHUB_REPOSITORY: "me/energy"})
    assert settings is not None
    assert "github_pat_x" not in repr(settings)
    assert "owner='me', name='energy'" in repr(settings)
