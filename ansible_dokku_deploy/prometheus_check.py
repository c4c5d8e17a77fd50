"""Checks a generated file with the real promtool before it replaces the previous one (the monitoring role's validate).

python -m ansible_dokku_deploy.prometheus_check (probe|metrics|rules) FILE
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ansible_dokku_deploy.scratch import scratch_dir

# The scrape jobs the README recommends, so a target file is checked as Prometheus will read it.
JOBS = {
    "probe": """scrape_configs:
  - job_name: ansible-deploy-probe
    metrics_path: /probe
    params: {{module: [http_2xx]}}
    file_sd_configs: [{{files: ["{file}"]}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "127.0.0.1:9115"}}
""",
    "metrics": """scrape_configs:
  - job_name: ansible-deploy-metrics
    file_sd_configs: [{{files: ["{file}"]}}]
""",
}


def check(kind: str, path: Path) -> tuple[bool, str]:
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    if kind == "rules":
        result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)  # noqa: S603
        return result.returncode == 0, result.stdout + result.stderr
    with scratch_dir("promtool") as tmp:
        target = tmp / "targets.json"  # file_sd only reads *.json, *.yml and *.yaml
        shutil.copyfile(path, target)
        config = tmp / "prometheus.yml"
        config.write_text(JOBS[kind].format(file=target))
        result = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True, check=False)  # noqa: S603
        return result.returncode == 0, (result.stdout + result.stderr).replace(str(target), path.name)


def main(argv: list[str]) -> int:
    ok, report = check(argv[0], Path(argv[1]))
    if not ok:
        sys.stderr.write(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
