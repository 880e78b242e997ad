"""Input checks of role backup_client (filter_plugins/backup_client.py): every problem names the host,
the variable and what is wrong; secrets are named, never quoted."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scripttools import load_script  # noqa: E402

filters = load_script(ROOT / "roles" / "backup_client" / "filter_plugins" / "backup_client.py", "backup_client_filters")

GOOD = {
    "backup_client_target": "backup01",
    "backup_client_target_address": "10.231.0.13",
    "backup_client_target_port": 8000,
    "backup_client_paths": ["/etc", "/home", "/srv"],
    "backup_client_exclude": ["/srv/belgeler/gecici", "*.tmp"],
    "backup_client_databases": {"postgresql": ["all"], "mariadb": []},
    "backup_client_dump_dir": "/var/backups/belediye/db",
    "backup_client_on_calendar": "*-*-* 01:30:00",
    "backup_client_restore_verify_on_calendar": "Sun *-*-* 05:00:00",
    "backup_client_randomized_delay_sec": 1800,
    "backup_client_timeout_hours": 12,
    "backup_client_max_age_hours": 26,
    "backup_client_restore_sample": 20,
    "backup_client_restore_scratch_dir": "/var/tmp/belediye-backup-verify",  # noqa: S108
    "backup_client_retention": {"daily": 7, "weekly": 4, "monthly": 12},
    "backup_client_alarm_mail_to": "root",
}


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({}, []),
        ({"backup_client_target_address": "yedek01.ornek.bel.tr", "backup_client_on_calendar": "daily",
          "backup_client_databases": {"postgresql": [], "mariadb": ["ruhsat", "personel"]},
          "backup_client_alarm_mail_to": "yedek@ornek.bel.tr"}, []),
        ({"backup_client_target": ""},
         ["h1: backup_client_target is empty and group backup_targets has no host: name the backup target"]),
        ({"backup_client_target_address": "https://yedek01"},
         ["h1: backup_client_target_address must be a host name or address in the target's certificate, not "
          "'https://yedek01'"]),
        ({"backup_client_target_port": 0},
         ["h1: backup_client_target_port must be a whole number from 1 to 65535, not 0"]),
        ({"backup_client_max_age_hours": "yirmi"},
         ["h1: backup_client_max_age_hours must be a whole number from 1 to 8760, not 'yirmi'"]),
        ({"backup_client_restore_sample": True},
         ["h1: backup_client_restore_sample must be a whole number from 1 to 10000, not True"]),
        ({"backup_client_paths": ["srv", "/srv/../etc", "/"]},
         ["h1: backup_client_paths[0] must be an absolute path of plain characters, not 'srv'",
          "h1: backup_client_paths[1] must be a normalised path, not '/srv/../etc'",
          "h1: backup_client_paths[2] is /: back up the folders that hold data, not a system tree"]),
        ({"backup_client_paths": []}, ["h1: backup_client_paths must name at least one folder"]),
        ({"backup_client_exclude": [""]},
         ["h1: backup_client_exclude[0] must be a restic exclude pattern such as /srv/*/tmp, not ''"]),
        ({"backup_client_databases": {"postgresql": "all", "oracle": ["x"]}},
         ["h1: backup_client_databases.oracle is not a supported engine (postgresql, mariadb)",
          "h1: backup_client_databases.postgresql must be a list of database names, not 'all'"]),
        ({"backup_client_databases": {"postgresql": ["all", "belediye"], "mariadb": ["a/b"]}},
         ["h1: backup_client_databases.postgresql names 'all' and single databases; choose one",
          "h1: backup_client_databases.mariadb[0] is not a database name: 'a/b'"]),
        ({"backup_client_dump_dir": "/tmp/db"},  # noqa: S108
         ["h1: backup_client_dump_dir must not be in a system or temporary tree: '/tmp/db'"]),
        ({"backup_client_restore_scratch_dir": "/srv/geri"},
         ["h1: backup_client_restore_scratch_dir (/srv/geri) must be outside the backed-up path /srv"]),
        ({"backup_client_restore_scratch_dir": "/var"},
         ["h1: backup_client_restore_scratch_dir must be a dedicated folder, not '/var'"]),
        ({"backup_client_on_calendar": "her gece"},
         ["h1: backup_client_on_calendar is not a systemd calendar expression (unknown word 'her'): 'her gece'"]),
        ({"backup_client_restore_verify_on_calendar": "Paz 05:00"},
         ["h1: backup_client_restore_verify_on_calendar is not a systemd calendar expression (unknown word 'Paz'): "
          "'Paz 05:00'"]),
        ({"backup_client_retention": {"daily": 0, "weekly": 0, "monthly": 0}},
         ["h1: backup_client_retention keeps nothing: at least one of daily, weekly, monthly, yearly must be above 0"]),
        ({"backup_client_retention": {"daily": 7, "weekly": -1, "monthly": 12, "hourly": 3}},
         ["h1: backup_client_retention.hourly is not known (daily, weekly, monthly, yearly)",
          "h1: backup_client_retention.weekly must be a whole number from 0 to 520, not -1"]),
        ({"backup_client_retention": {"daily": 14, "yearly": 5}}, []),
        ({"backup_client_alarm_mail_to": "root; rm"},
         ["h1: backup_client_alarm_mail_to must be an address such as root or yedek@ornek.bel.tr, not 'root; rm'"]),
        ({"backup_client_alarm_mail_to": ""}, []),
    ],
    ids=["defaults", "production-like", "no-target", "address-is-a-url", "port-zero", "age-not-a-number",
         "sample-boolean", "paths-relative-dotdot-root", "paths-empty", "exclude-empty", "databases-bad-shape",
         "databases-all-and-names-bad-name", "dump-dir-in-tmp", "scratch-inside-backup", "scratch-not-dedicated",
         "calendar-turkish", "verify-calendar-turkish-weekday", "retention-keeps-nothing", "retention-bad-keys",
         "retention-partial-with-yearly",
         "mail-with-shell", "mail-off"],
)  # fmt: skip
def test_backup_client_problems_name_host_variable_and_problem(changes, problems):
    assert filters.backup_client_problems({**GOOD, **changes}, "h1") == problems


def test_backup_client_problems_of_a_non_mapping():
    assert filters.backup_client_problems([], "h1") == ["h1: the backup_client inputs must be a mapping, not list"]


CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("http", "repo", "ca", "problems"),
    [
        ("h" * 16, "r" * 20, CA, []),
        ("", "r" * 20, CA, ["h1: backup_client_http_password is not set: put it in the vault"]),
        ("h" * 16, None, CA, ["h1: backup_client_repository_password is not set: put it in the vault"]),
        ("kisa", "r" * 20, CA, ["h1: backup_client_http_password is too short: at least 16 characters"]),
        ("h" * 16, "r" * 20 + "\n", CA,
         ["h1: backup_client_repository_password must be one line without leading or trailing spaces"]),
        ("s" * 20, "s" * 20, CA, ["h1: backup_client_http_password and backup_client_repository_password must differ"]),
        ("h" * 16, "r" * 20, "",
         ["h1: backup_client_tls_ca_cert must be the PEM certificate of the CA that issued the target's certificate"]),
    ],
    ids=["sound", "http-missing", "repository-missing", "http-short", "repository-two-lines", "same-password",
         "no-ca"],
)  # fmt: skip
def test_secret_problems_name_the_variable_never_the_value(http, repo, ca, problems):
    found = filters.backup_client_secret_problems(http, repo, ca, "h1")
    assert found == problems
    for secret in (http, repo):
        if secret and len(secret) > 3:
            assert not any(secret.strip() in p for p in found)


def test_the_filters_are_registered():
    assert set(filters.FilterModule().filters()) == {"backup_client_problems", "backup_client_secret_problems"}
