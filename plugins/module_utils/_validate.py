# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of option values that Ansible's argument spec lets through, shared by every module of the collection.

Ansible converts ``type: float`` from ``nan``, ``inf`` and ``1e999`` without complaint and checks no range, a
``type: path`` or ``type: str`` may hold a newline or be empty, and a list or a string may be huge. Each module
declares what it accepts and calls check() right after building its AnsibleModule, before it reads or changes
anything; check() fails the task with one message that names the option, what was given and what is allowed.

    from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v

    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    v.check(module,
            numbers=dict(timeout=v.Range(0, 86400, "seconds"), poll=v.Range(0.05, 60, "seconds")),
            paths=dict(path=v.Path(absolute=True, dotdot=False, file=True)),
            texts=dict(note=v.Text(max_length=10000, multiline=True)),
            lists=dict(units=v.Items(min_items=1, max_items=100)),
            regexes=("heartbeat_pattern", "proof_pattern"))

An option that is None (not set, no default) is not checked. The check functions (number, path, text, items, regex)
raise InvalidInput, a ValueError, so pure logic can use them without an AnsibleModule.
"""

import math
import os
import re
from typing import Any, Dict, Iterable, Optional, Pattern, Sequence, Union

# The latest moment the modules' ISO 8601 output can show: 9999-12-31T23:59:59.999Z, in epoch milliseconds.
MAX_EPOCH_MS = 253402300799999
MAX_PATH = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAMES = {"\n": "a newline", "\r": "a carriage return", "\0": "a NUL byte", "\t": "a tab"}


class InvalidInput(ValueError):
    """A value an option does not accept; the message names the option and what it accepts."""


def _shown(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else "%s... (%d characters)" % (text[:limit], len(value) if hasattr(value, "__len__") else len(text))


def _num(x):
    return ("%d" % x) if float(x).is_integer() and abs(x) < 1e18 else ("%g" % x)


class Range:
    """A finite number from minimum to maximum (both included, unless above=True: then strictly above minimum).
    integer=True also refuses fractions. unit is how the message calls it (seconds, hours, ms)."""

    def __init__(self, minimum: float, maximum: float, unit: str = "", integer: bool = False, above: bool = False) -> None:
        self.minimum, self.maximum, self.unit, self.integer, self.above = minimum, maximum, unit, integer, above

    def describe(self) -> str:
        kind = "a whole number" if self.integer else "a finite number"
        low = "above %s" % _num(self.minimum) if self.above else "from %s" % _num(self.minimum)
        unit = " (%s)" % self.unit if self.unit else ""
        return "%s %s to %s%s" % (kind, low, _num(self.maximum), unit)

    def check(self, name: str, value: Any) -> Union[int, float, None]:
        return number(name, value, self)


def number(name: str, value: Any, rule: Range) -> Union[int, float, None]:
    """value when it is a number rule accepts (None passes), else InvalidInput naming name and rule's range."""
    if value is None:
        return None
    bad = isinstance(value, bool) or not isinstance(value, (int, float))
    if not bad:
        if isinstance(value, float) and not math.isfinite(value):
            bad = True
        elif rule.integer and isinstance(value, float) and not value.is_integer():
            bad = True
        elif value < rule.minimum or value > rule.maximum or (rule.above and value == rule.minimum):
            bad = True
    if bad:
        raise InvalidInput("%s must be %s, not %s" % (name, rule.describe(), _shown(value)))
    return int(value) if rule.integer else value


class Text:
    """A string of at most max_length characters, never holding NUL nor another control character, except newlines
    and tabs with multiline=True and tabs with tabs=True; without allow_empty not empty or blank."""

    def __init__(self, max_length: int = 4096, multiline: bool = False, allow_empty: bool = False, tabs: bool = False) -> None:
        self.max_length, self.multiline, self.allow_empty, self.tabs = max_length, multiline, allow_empty, tabs

    def check(self, name: str, value: Any) -> Optional[str]:
        return text(name, value, self)


def text(name: str, value: Any, rule: Optional[Text] = None) -> Optional[str]:
    rule = rule or Text()
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("%s must be a string, not %s" % (name, type(value).__name__))
    if len(value) > rule.max_length:
        raise InvalidInput("%s is %d characters long; at most %d are accepted" % (name, len(value), rule.max_length))
    if not rule.allow_empty and not value.strip():
        raise InvalidInput("%s is empty" % name)
    allowed = ("\n\t" if rule.multiline else "") + ("\t" if rule.tabs else "")
    found = _CONTROL.search("".join(c for c in value if c not in allowed) if allowed else value)
    if found:
        what = _NAMES.get(found.group(), "the control character %r" % found.group())
        raise InvalidInput("%s %s holds %s; give it on one line, without control characters" % (name, _shown(value), what))
    return value


class Path:
    """A path: not empty, at most 4096 characters, no control character but a tab (a newline makes two file names of
    one in every log and shell); with absolute=True only an absolute one; with dotdot=False none with a '..'
    component; with file=True not an existing directory."""

    def __init__(self, absolute: bool = False, dotdot: bool = True, max_length: int = MAX_PATH, file: bool = False) -> None:
        self.absolute, self.dotdot, self.max_length, self.file = absolute, dotdot, max_length, file

    def check(self, name: str, value: Any) -> Optional[str]:
        return path(name, value, self)


def path(name: str, value: Any, rule: Optional[Path] = None) -> Optional[str]:
    rule = rule or Path()
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("%s must be a path (a string), not %s" % (name, type(value).__name__))
    if not value.strip():
        raise InvalidInput("%s is empty: give a path" % name)
    text(name, value, Text(max_length=rule.max_length, tabs=True))
    if rule.absolute and not os.path.isabs(value):
        raise InvalidInput("%s %s is relative: give an absolute path" % (name, _shown(value)))
    if not rule.dotdot and ".." in value.split("/"):
        raise InvalidInput("%s %s has a '..' component: give the path without it" % (name, _shown(value)))
    if rule.file and os.path.isdir(value):
        raise InvalidInput("%s %s is a directory: give the path of a file" % (name, _shown(value)))
    return value


class Items:
    """A list of min_items to max_items elements."""

    def __init__(self, min_items: int = 0, max_items: int = 1000) -> None:
        self.min_items, self.max_items = min_items, max_items

    def check(self, name: str, value: Any) -> Optional[Sequence[Any]]:
        return items(name, value, self)


def items(name: str, value: Optional[Sequence[Any]], rule: Optional[Items] = None) -> Optional[Sequence[Any]]:
    rule = rule or Items()
    if value is None:
        return None
    if len(value) < rule.min_items:
        raise InvalidInput("%s must have at least %d item%s, it has %d" % (name, rule.min_items, "" if rule.min_items == 1 else "s", len(value)))
    if len(value) > rule.max_items:
        raise InvalidInput("%s has %d items; at most %d are accepted" % (name, len(value), rule.max_items))
    return value


def regex(name: str, value: Optional[str], flags: int = 0) -> Optional[Pattern[str]]:
    """The compiled regular expression, or InvalidInput with re's reason."""
    if value is None:
        return None
    text(name, value, Text(max_length=10000, allow_empty=True))
    try:
        return re.compile(value, flags)
    except re.error as e:
        raise InvalidInput("%s %s is not a valid Python regular expression: %s" % (name, _shown(value), e)) from None


def each(name: str, values: Optional[Iterable[Any]], rule: Any) -> Optional[Iterable[Any]]:
    """rule.check on every element of a list option; the message names the element (name[3])."""
    for i, value in enumerate(values or []):
        rule.check("%s[%d]" % (name, i), value)
    return values


# PLR0913: keyword-only rule groups, one per kind of option
def validate(params: Dict[str, Any], *, numbers: Optional[Dict[str, Any]] = None, paths: Optional[Dict[str, Any]] = None,  # noqa: PLR0913
             texts: Optional[Dict[str, Any]] = None, lists: Optional[Dict[str, Any]] = None, regexes: Iterable[str] = ()) -> None:
    """Check params (a dict); raise InvalidInput at the first option that is wrong. In lists, a rule that is a tuple
    (Items, rule) also checks each element with rule (a Path, Text or Range)."""
    for name, rules in (lists or {}).items():
        list_rule, element_rule = rules if isinstance(rules, tuple) else (rules, None)
        list_rule.check(name, params.get(name))
        if element_rule is not None:
            each(name, params.get(name), element_rule)
    for group in (numbers, paths, texts):
        for name, rule in (group or {}).items():
            rule.check(name, params.get(name))
    for name in regexes:
        regex(name, params.get(name))


# PLR0913: validate()'s rule groups, keyword-only
def check(module: Any, *, numbers: Optional[Dict[str, Any]] = None, paths: Optional[Dict[str, Any]] = None,  # noqa: PLR0913
          texts: Optional[Dict[str, Any]] = None, lists: Optional[Dict[str, Any]] = None, regexes: Iterable[str] = ()) -> None:
    """validate() the module's params; on the first wrong option fail the task, changed=false, with its message."""
    try:
        validate(module.params, numbers=numbers, paths=paths, texts=texts, lists=lists, regexes=regexes)
    except InvalidInput as e:
        module.fail_json(msg=str(e), changed=False)
