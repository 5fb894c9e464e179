# Loaded automatically when this directory is on PYTHONPATH (Python's `site` module imports
# `sitecustomize`). When OC_HL_BASE_URL is set (e.g. http://127.0.0.1:18080), every HTTP(S) request
# aimed at https://api.hyperliquid.xyz is redirected there:
#   - hyperliquid.utils.constants.MAINNET_API_URL (used as Info(constants.MAINNET_API_URL) at call time)
#   - engine/rest_client.py INFO_URL is a def-time default, so urllib.request.urlopen is wrapped
#   - requests.Session.request is wrapped (the SDK's API.post uses a requests.Session)
# With OC_REFUSE_OTHER_HOSTS=1, any other non-loopback URL raises instead of being attempted.
import os

_NEW = os.environ.get("OC_HL_BASE_URL", "").rstrip("/")
_OLD = "https://api.hyperliquid.xyz"
_REFUSE = os.environ.get("OC_REFUSE_OTHER_HOSTS", "0") == "1"


def _rewrite(url):
    if url.startswith(_OLD):
        return _NEW + url[len(_OLD):]
    if _REFUSE and url.startswith("http") and not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise ConnectionRefusedError(f"sitecustomize: refused non-loopback URL {url}")
    return url


if _NEW:
    import urllib.request as _u

    _orig_urlopen = _u.urlopen

    def urlopen(url, *args, **kwargs):
        if isinstance(url, _u.Request):
            url.full_url = _rewrite(url.full_url)
        else:
            url = _rewrite(str(url))
        return _orig_urlopen(url, *args, **kwargs)

    _u.urlopen = urlopen

    try:
        import requests.sessions as _s

        _orig_request = _s.Session.request

        def request(self, method, url, *args, **kwargs):
            return _orig_request(self, method, _rewrite(str(url)), *args, **kwargs)

        _s.Session.request = request
    except ImportError:
        pass

    try:
        import hyperliquid.utils.constants as _c

        _c.MAINNET_API_URL = _NEW
    except ImportError:
        pass
