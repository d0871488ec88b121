"""Version information."""

import pbr.version

version_info = pbr.version.VersionInfo('mistral')


def version_string() -> str:
    try:
        return version_info.version_string()
    except Exception:  # no package metadata (running from a bare checkout)
        return '0.0.0'
