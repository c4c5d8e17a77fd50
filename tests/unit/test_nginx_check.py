"""nginx snippets are checked by the real `nginx -t`, inside server blocks shaped like Dokku's."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ansible_dokku_deploy.packaging import nginx_check, snippet_policy


def snippet(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_valid_snippet_passes(tmp_path: Path) -> None:
    assert nginx_check.check([snippet(tmp_path, "a.conf", "gzip on;\nlocation /api { return 204; }\n")]) == []


def test_an_unknown_directive_is_named_with_file_and_line(tmp_path: Path) -> None:
    good = snippet(tmp_path, "a.conf", "gzip on;\n")
    bad = snippet(tmp_path, "b.conf", "\n\nfoo bar;\n")
    (problem,) = nginx_check.check([good, bad])
    assert problem.lines()[0] == 'nginx.conf.d/b.conf:3: nginx rejects it: unknown directive "foo"'


def test_location_slash_clashes_with_dokkus_own(tmp_path: Path) -> None:
    (problem,) = nginx_check.check([snippet(tmp_path, "a.conf", "location / { return 200; }\n")])
    assert 'duplicate location "/"' in problem.message


def test_the_role_validation_command_accepts_files_without_the_conf_suffix(tmp_path: Path) -> None:
    assert nginx_check.main([str(snippet(tmp_path, "tmpXYZ", "gzip on;\n"))]) == 0
    assert nginx_check.main([str(snippet(tmp_path, "tmpABC", "gzip maybe;\n"))]) == 1


def test_nginx_before_1_19_5_is_run_without_the_error_log_flag_it_lacks() -> None:
    assert not nginx_check.takes_error_log_flag("nginx version: nginx/1.18.0")
    assert nginx_check.takes_error_log_flag("nginx version: nginx/1.19.5")
    assert nginx_check.takes_error_log_flag("nginx version: nginx/1.26.3\n")
    assert nginx_check.takes_error_log_flag("nginx version: openresty/1.27.1.2")  # no nginx/ version: a current one


def test_nginx_1_18s_pid_before_the_message_is_not_part_of_it() -> None:
    """What nginx 1.18 (Debian 11, Ubuntu 22.04) prints; tests/integration/test_hosts.py runs it for real."""
    line = 'nginx: [emerg] 17369#17369: unknown directive "foo" in /x/nginx.conf.d/bad.conf:1'
    problem = nginx_check._problem(line, Path("/x/nginx.conf.d"))
    assert problem.lines()[0] == 'nginx.conf.d/bad.conf:1: nginx rejects it: unknown directive "foo"'


def test_every_directive_a_snippet_may_use_is_built_into_nginx_without_a_dynamic_module(tmp_path: Path) -> None:
    """The check loads none of the server's modules-enabled/*.conf: no allowed directive needs one. nginx knows each
    of them with no load_module (it may still say the place or the arguments are wrong, never that it is
    unknown); directives of Debian's dynamic modules (more_set_headers, echo, ...) are refused by the allow-list."""
    binary = nginx_check.nginx_binary()
    assert binary is not None, "the tests need nginx"
    unknown = []
    for directive in sorted(snippet_policy.ALLOWED):
        conf = tmp_path / f"{directive}.conf"
        conf.write_text(
            f"pid {tmp_path}/nginx.pid;\nevents {{}}\n"
            f"http {{ server {{ listen 127.0.0.1:8080; location /x {{ {directive} x; }} }} }}\n"
        )
        result = subprocess.run(
            [binary, "-t", "-q", "-p", str(tmp_path), "-c", str(conf), *nginx_check.error_log_args(binary, tmp_path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if "unknown directive" in result.stderr:
            unknown.append(directive)
    assert unknown == []
    assert snippet_policy.check("more_set_headers 'X-A: b';\n", "nginx.conf.d/x.conf") != []
