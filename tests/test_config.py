import pytest

from wirehouse.config import ConfigError, load_sources


def write(tmp_path, text):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_normalizes_urls(tmp_path):
    config = load_sources(
        write(
            tmp_path,
            """
[[sources]]
name = "a"
feeds = ["HTTPS://Ex.org/feed/?utm_source=x"]
urls = ["https://ex.org/2026/01/story.html"]
allow_private_network = true
host_delay = 0.5

[[sources]]
name = "b"
sitemaps = ["https://b.org/sitemap.xml"]
""",
        )
    )
    assert [s.name for s in config.sources] == ["a", "b"]
    a = config.by_name("a")
    assert a.feeds == ("https://ex.org/feed/",)
    assert a.allow_private_network is True and a.host_delay == 0.5
    assert config.by_name("b").allow_private_network is False


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('[[sources]]\nname = "a"\nfeeds = ["https://x.org/f"]\nfeedz = []\n', "source 'a': unknown key 'feedz'"),
        ('[[sources]]\nfeeds = ["https://x.org/f"]\n', "missing required key 'name'"),
        ('[[sources]]\nname = "a"\nurls = ["ftp://x.org/f"]\n', "source 'a': key 'urls': not an http(s) URL"),
        ('[[sources]]\nname = "a"\nurls = ["https://x.org/"]\n[[sources]]\nname = "a"\nurls = ["https://y.org/"]\n', "duplicate name"),
        ('[[sources]]\nname = "a"\n', "no feeds, sitemaps, pages or urls"),
        ('[[sources]]\nname = "a"\nurls = ["https://x.org/"]\nallow_private_network = "yes"\n', "allow_private_network"),
        ("[[sources]\nname=", "invalid TOML"),
        ("title = 'x'\n", "unknown top-level key 'title'"),
        ('[[sources]]\nname = "a"\nfeeds = ["file:///etc/passwd"]\n', "key 'feeds': not an http(s) URL"),
        ('[[sources]]\nname = "a"\npages = ["javascript:alert(1)"]\n', "key 'pages': not an http(s) URL"),
        ('[[sources]]\nname = "a"\nsitemaps = ["gopher://x.org/"]\n', "key 'sitemaps': not an http(s) URL"),
        ('[[sources]]\nname = "a"\nurls = ["http://ex ample.com/a"]\n', "key 'urls': not an http(s) URL: 'http://ex ample.com/a'"),
        ('[fetch]\ntimeot = 3\n[[sources]]\nname = "a"\nurls = ["https://x.org/"]\n', "[fetch]: unknown key 'timeot'"),
        ('[fetch]\ndeadline = -1\n[[sources]]\nname = "a"\nurls = ["https://x.org/"]\n', "'deadline' must be a number of seconds > 0"),
        ('[fetch]\nretries = 99\n[[sources]]\nname = "a"\nurls = ["https://x.org/"]\n', "'retries' must be an integer from 0 to 10"),
        ('[fetch]\nmax_bytes = "5MB"\n[[sources]]\nname = "a"\nurls = ["https://x.org/"]\n', "'max_bytes' must be an integer > 0"),
        ('[fetch]\nuser_agent = ""\n[[sources]]\nname = "a"\nurls = ["https://x.org/"]\n', "'user_agent' must be a non-empty string"),
        ('sources = "x"\n', "no [[sources]] defined"),
    ],
)
def test_errors_name_source_and_key(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as info:
        load_sources(write(tmp_path, text))
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_sources(tmp_path / "nope.toml")


def test_fetch_table_sets_the_fetch_options(tmp_path):
    from wirehouse.flows.ingest import fetch_options

    config = load_sources(write(tmp_path, """
[fetch]
timeout = 2
connect_timeout = 1.5
deadline = 7
retries = 0
max_bytes = 1000

[[sources]]
name = "a"
urls = ["https://x.org/"]
host_delay = 0.25
"""))
    options = fetch_options(config)
    assert (options.read_timeout, options.connect_timeout, options.deadline, options.retries, options.max_bytes) == (2, 1.5, 7, 0, 1000)
    assert options.host_delay == 0.25 and options.page_text is False
    assert isinstance(options.read_timeout, float) and isinstance(options.max_bytes, int)
    assert fetch_options(config, contact_url="https://me.example/").contact_url == "https://me.example/"


def test_every_fetch_key_sets_a_fetch_option():
    # The [fetch] table is known in one place (wirehouse.config); each key must name a real option.
    from dataclasses import fields

    from wirehouse.tasks.fetch import FetchOptions
    from wirehouse.config import _FETCH_KEYS

    names = {f.name for f in fields(FetchOptions)}
    assert {option for option, _ in _FETCH_KEYS.values()} <= names


def test_settings_one_home_for_every_default_and_variable(monkeypatch):
    from wirehouse.server import DEFAULT_HOST, DEFAULT_PORT
    from wirehouse.settings import LOCAL_API_URL, Settings, SettingsError, settings, variables

    for name in variables().values():
        monkeypatch.delenv(name, raising=False)
    assert settings() == Settings()
    monkeypatch.setenv("WIREHOUSE_BATCH_PAGES", "10")
    monkeypatch.setenv("WIREHOUSE_LOCAL_SERVER", "0")
    assert settings().batch_pages == 10 and settings().use_local_server is False
    for bad in ("0", "ten"):
        monkeypatch.setenv("WIREHOUSE_BATCH_PAGES", bad)
        with pytest.raises(SettingsError, match=f"WIREHOUSE_BATCH_PAGES='{bad}'"):
            settings()
    # prefect.yaml and the Makefile: tests/test_deployment.py
    assert LOCAL_API_URL == f"http://{DEFAULT_HOST}:{DEFAULT_PORT}/api"


def test_a_malformed_setting_is_one_line_and_exit_2(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    wirehouse = str(Path(sys.executable).parent / "wirehouse")
    import os

    out = subprocess.run([wirehouse, "status", "--db", str(tmp_path / "w.duckdb")], capture_output=True, text=True,
                         env=dict(os.environ, WIREHOUSE_LOCK_WAIT="soon"), timeout=60)
    assert out.returncode == 2 and out.stderr.strip() == "wirehouse: error: WIREHOUSE_LOCK_WAIT='soon': not a number"
