"""How every browser test and benchmark launches Chromium, here and on a user's machine.

Debian's Chromium (``/usr/bin/chromium``) when present, since Playwright cannot download
its own browser on a closed network; otherwise Playwright's bundled one. The flags keep a
headless Chromium quiet on a network that refuses Google's hosts.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def system_chromium() -> str | None:
    """Path of a system Chromium (``CHROMIUM`` overrides), or None to use Playwright's."""
    for candidate in (
        os.environ.get("CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def launch_options() -> dict[str, Any]:
    """Keyword arguments for ``playwright.chromium.launch``."""
    options: dict[str, Any] = {"args": list(CHROMIUM_FLAGS)}
    exe = system_chromium()
    if exe:
        options["executable_path"] = exe
    return options


#: Playwright's own --disable-features list (playwright-core chromiumSwitches.ts, 1.65) less
#: ThirdPartyStoragePartitioning, which it turns off (microsoft/playwright#32230) although
#: Chrome partitions third-party storage by default since 115. Embed widgets framed by
#: another site share one SharedWorker only in a partitioned browser, as users have.
_PLAYWRIGHT_DISABLED = (
    "AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,"
    "AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,"
    "NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch,msForceBrowserSignIn,"
    "msEdgeUpdateLaunchServicesPreferredVersion"
)


def partitioned_launch_options() -> dict[str, Any]:
    """``launch_options()`` for a Chromium that partitions third-party storage like Chrome
    does for users (the last --disable-features switch replaces Playwright's)."""
    options = launch_options()
    options["args"] = [*options["args"], f"--disable-features={_PLAYWRIGHT_DISABLED}"]
    return options
