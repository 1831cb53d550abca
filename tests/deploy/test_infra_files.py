"""azure.yaml, infra/*.bicep and the GitHub workflow agree with each other and with
build.py's output folder. (Deploying needs Azure and internet: not tested here.)"""

from __future__ import annotations

import json
import re

from deploy_support import ROOT

try:
    import yaml  # type: ignore[no-redef]
except ImportError:  # CI's config check installs only pytest
    yaml = None

AZURE_YAML = ROOT / "azure.yaml"
MAIN_BICEP = ROOT / "infra" / "main.bicep"
WEB_BICEP = ROOT / "infra" / "web.bicep"
PARAMS = ROOT / "infra" / "main.parameters.json"
WORKFLOW = ROOT / ".github" / "workflows" / "azure-static-web-apps.yml"


def test_azure_yaml_service() -> None:
    text = AZURE_YAML.read_text()
    if yaml is not None:
        doc = yaml.safe_load(text)
        (name, service), = doc["services"].items()
        assert service["host"] == "staticwebapp" and service["dist"] == "dist"
        assert "build.py" in service["hooks"]["prepackage"]["posix"]["run"]
        assert "build.py" in service["hooks"]["prepackage"]["windows"]["run"]
    else:
        name = re.search(r"^services:\n  (\w+):", text, re.M).group(1)  # type: ignore[union-attr]
        assert "host: staticwebapp" in text and "dist: dist" in text and "build.py" in text
    # the Bicep tag that lets azd find the resource for this service
    assert f"'azd-service-name': '{name}'" in WEB_BICEP.read_text()


def test_bicep_free_static_site_with_url_output() -> None:
    web = WEB_BICEP.read_text()
    assert "'Microsoft.Web/staticSites@" in web
    assert re.search(r"param skuName string = 'Free'", web)
    main = MAIN_BICEP.read_text()
    assert re.search(r"param skuName string = 'Free'", main)
    assert re.search(r"^output WEB_URI string = ", main, re.M)
    params = json.loads(PARAMS.read_text())["parameters"]
    assert params["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    # every parameter in the file exists in main.bicep
    for key in params:
        assert re.search(rf"^param {key} ", main, re.M), key


def test_workflow_deploys_dist_without_rebuilding() -> None:
    text = WORKFLOW.read_text()
    assert "Azure/static-web-apps-deploy@v1" in text
    assert re.search(r"app_location: dist\b", text)
    assert "skip_app_build: true" in text and "skip_api_build: true" in text
    assert "python build.py" in text and "npm ci" in text
    assert re.search(r"push:\n\s+branches: \[main\]", text)
    assert "pull_request:" in text and "action: close" in text
    if yaml is not None:
        doc = yaml.safe_load(text)
        assert set(doc["jobs"]) == {"build_and_deploy", "close_preview"}
