"""Ingest processors with Elasticsearch's semantics (``modules/ingest-common``).

``REGISTRY`` maps a processor name to its class. Each class has a ``create(cfg)``
factory (reading options like ``ConfigurationUtils`` does, with the same error
messages) and ``execute(doc, runtime)`` returning the document, or ``None`` when
the document is dropped. Failures raise :class:`~.errors.IngestError`.

``read_processor`` builds the wrapping structure Elasticsearch builds:
``ConditionalProcessor(if) -> CompoundProcessor(ignore_failure, [processor], on_failure)
-> processor``.

Processors Elasticsearch has that are **not** implemented here are rejected at
load time with :class:`~.errors.UnsupportedBySimulator` (see ``NOT_IMPLEMENTED``).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
import struct
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence

from . import datefmt
from .conditions import Condition, ConditionSyntaxError
from .document import (
    METADATA_KEYS,
    IngestDocument,
    IngestTimestamp,
    deep_copy,
    get_all_fields,
    value_not_empty,
)
from .errors import (
    IngestError,
    ParseError,
    UnsupportedBySimulator,
    config_error,
    illegal_argument,
)
from .javacompat import (
    JavaFloat,
    JavaLong,
    JavaRegexError,
    compile_java_regex,
    decode_java_int,
    java_class_name,
    java_has_text,
    java_lower,
    java_natural_key,
    java_replacement,
    java_split,
    java_to_string,
    java_trim,
    java_upper,
    parse_java_double,
    parse_java_float,
    parse_java_int,
)
from .mustache import VALID_MEDIA_TYPES, MustacheError, Template, compile_template

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import Runtime

REQUIRED = object()

#: Elasticsearch processors this simulator deliberately does not implement
NOT_IMPLEMENTED = (
    "attachment", "bytes", "cef", "circle", "community_id", "csv", "date_index_name", "dissect", "enrich",
    "geo_grid", "geoip", "grok", "html_strip", "inference", "ip_location", "network_direction", "redact",
    "registered_domain", "reroute", "script", "set_security_user", "sort", "uri_parts", "urldecode",
    "user_agent", "lowercase_keys", "recover_failure_document", "normalize_for_stream", "terminate_if",
)


# ---------------------------------------------------------------- configuration reading


class Cfg:
    """Consumes a processor's configuration map like ``ConfigurationUtils`` does."""

    def __init__(self, ptype: str, tag: Optional[str], config: Dict[str, Any]) -> None:
        self.type = ptype
        self.tag = tag
        self.config = config

    def err(self, prop: Optional[str], reason: str) -> ParseError:
        return config_error(self.type, self.tag, prop, reason)

    def has(self, name: str) -> bool:
        return name in self.config

    def string(self, name: str, default: Any = REQUIRED) -> Any:
        value = self.config.pop(name, None)
        if value is None:
            if default is REQUIRED:
                raise self.err(name, "required property is missing")
            return default
        if not isinstance(value, str):
            raise self.err(name, f"property isn't a string, but of type [{java_class_name(value)}]")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.config.pop(name, None)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.err(name, f"property isn't a boolean, but of type [{java_class_name(value)}]")
        return value

    def list(self, name: str, required: bool = True) -> Optional[List[Any]]:
        value = self.config.pop(name, None)
        if value is None:
            if required:
                raise self.err(name, "required property is missing")
            return None
        if not isinstance(value, list):
            raise self.err(name, f"property isn't a list, but of type [{java_class_name(value)}]")
        return value

    def map(self, name: str) -> Dict[str, Any]:
        value = self.config.pop(name, None)
        if value is None:
            raise self.err(name, "required property is missing")
        if not isinstance(value, dict):
            raise self.err(name, f"property isn't a map, but of type [{java_class_name(value)}]")
        return value

    def obj(self, name: str) -> Any:
        value = self.config.pop(name, None)
        if value is None:
            raise self.err(name, "required property is missing")
        return value

    def template(self, name: str, value: Optional[str], media_type: Optional[str] = None) -> Optional[Template]:
        if value is None:
            return None
        try:
            return compile_template(value, media_type)
        except MustacheError as e:
            raise self.err(name, str(e)) from None

    def media_type(self, name: str = "media_type") -> str:
        mt = self.string(name, "application/json")
        if mt not in VALID_MEDIA_TYPES:
            raise self.err(name, f"property does not contain a supported media type [{mt}]")
        return mt


class ValueSource:
    """``ValueSource``: literal values, with every string containing ``{{`` a template."""

    def __init__(self, value: Any, media_type: str, cfg: Cfg) -> None:
        self.templated = isinstance(value, str) and "{{" in value
        self.value = self._wrap(value, media_type, cfg)

    def _wrap(self, value: Any, media_type: str, cfg: Cfg) -> Any:
        if isinstance(value, dict):
            return {"__map__": [(self._wrap(k, media_type, cfg), self._wrap(v, media_type, cfg))
                                for k, v in value.items()]}
        if isinstance(value, list):
            return {"__list__": [self._wrap(v, media_type, cfg) for v in value]}
        if isinstance(value, str) and "{{" in value:
            return cfg.template("value", value, media_type)
        return {"__lit__": value}

    def resolve(self, doc: IngestDocument) -> Any:
        return self._resolve(self.value, doc)

    def _resolve(self, node: Any, doc: IngestDocument) -> Any:
        if isinstance(node, Template):
            return doc.render(node)
        if "__lit__" in node:
            return deep_copy(node["__lit__"])
        if "__list__" in node:
            return [self._resolve(v, doc) for v in node["__list__"]]
        return {self._resolve(k, doc): self._resolve(v, doc) for k, v in node["__map__"]}


# ---------------------------------------------------------------- base and wrappers


class Processor:
    TYPE = ""

    def __init__(self, tag: Optional[str], description: Optional[str]) -> None:
        self.tag = tag
        self.description = description

    @property
    def type(self) -> str:
        return self.TYPE

    def execute(self, doc: IngestDocument, runtime: Runtime) -> Optional[IngestDocument]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.type} tag={self.tag!r}>"


class CompoundProcessor(Processor):
    TYPE = "compound"

    def __init__(self, ignore_failure: bool, processors: Sequence[Processor],
                 on_failure: Sequence[Processor]) -> None:
        super().__init__(None, None)
        self.ignore_failure = ignore_failure
        self.processors = list(processors)
        self.on_failure = list(on_failure)

    def flatten(self) -> List[Processor]:
        out: List[Processor] = []
        for p in self.processors + self.on_failure:
            out.extend(p.flatten() if isinstance(p, CompoundProcessor) else [p])
        return out

    @property
    def tag(self) -> Optional[str]:  # type: ignore[override]
        return "CompoundProcessor-" + "-".join(str(p.tag) for p in self.flatten())

    @tag.setter
    def tag(self, value: Optional[str]) -> None:
        pass


class ConditionalProcessor(Processor):
    TYPE = "conditional"

    def __init__(self, tag: Optional[str], description: Optional[str], condition: Condition,
                 inner: Processor) -> None:
        super().__init__(tag, description)
        self.condition = condition
        self.inner = inner


# ---------------------------------------------------------------- processors


class SetProcessor(Processor):
    TYPE = "set"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], runtime_factory: Any) -> SetProcessor:
        self = cls(tag, description)
        self.field = cfg.template("field", cfg.string("field"))
        copy_from = cfg.string("copy_from", None)
        self.copy_from = copy_from
        self.value: Optional[ValueSource] = None
        media_type = cfg.media_type()
        if copy_from is not None:
            if cfg.has("value"):
                raise cfg.err("copy_from", "cannot set both `copy_from` and `value` in the same processor")
        else:
            self.value = ValueSource(cfg.obj("value"), media_type, cfg)
        self.override = cfg.boolean("override", True)
        self.ignore_empty_value = cfg.boolean("ignore_empty_value", False)
        return self

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        path = doc.render(self.field)
        if self.override or not doc.has_field(path) or doc.get_field_value(path) is None:
            if self.copy_from is not None:
                value = doc.get_field_value(self.copy_from, ignore_missing=self.ignore_empty_value)
                if not self.ignore_empty_value or value_not_empty(value):
                    doc.set_field_value(path, deep_copy(value))
            else:
                assert self.value is not None
                value = self.value.resolve(doc)
                if not (self.value.templated and self.ignore_empty_value) or value_not_empty(value):
                    doc.set_field_value(path, value)
        return doc


class AppendProcessor(Processor):
    TYPE = "append"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> AppendProcessor:
        self = cls(tag, description)
        self.field = cfg.template("field", cfg.string("field"))
        self.copy_from = cfg.string("copy_from", None)
        media_type = cfg.media_type()
        self.value: Optional[ValueSource] = None
        if self.copy_from is not None:
            if cfg.has("value"):
                raise cfg.err("copy_from", "cannot set both `copy_from` and `value` in the same processor")
        else:
            self.value = ValueSource(cfg.obj("value"), media_type, cfg)
        self.allow_duplicates = cfg.boolean("allow_duplicates", True)
        self.ignore_empty_values = cfg.boolean("ignore_empty_values", False)
        return self

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        path = doc.render(self.field)
        if self.copy_from is not None:
            value = deep_copy(doc.get_field_value(self.copy_from, ignore_missing=self.ignore_empty_values))
        else:
            assert self.value is not None
            value = self.value.resolve(doc)
        doc.append_field_value(path, value, self.allow_duplicates, self.ignore_empty_values)
        return doc


class RenameProcessor(Processor):
    TYPE = "rename"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> RenameProcessor:
        self = cls(tag, description)
        self.field = cfg.template("field", cfg.string("field"))
        self.target_field = cfg.template("target_field", cfg.string("target_field"))
        self.ignore_missing = cfg.boolean("ignore_missing", False)
        self.override = cfg.boolean("override", False)
        return self

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        path = doc.render(self.field)
        if path == "" or not doc.has_field(path, True):
            if self.ignore_missing:
                return doc
            raise illegal_argument(f"field [{path}] doesn't exist")
        target = doc.render(self.target_field)
        if doc.has_field(target, True) and not self.override:
            raise illegal_argument(f"field [{target}] already exists")
        value = doc.get_field_value(path)
        doc.remove_field(path)
        try:
            doc.set_field_value(target, value)
        except IngestError:
            doc.set_field_value(path, value)
            raise
        return doc


class RemoveProcessor(Processor):
    TYPE = "remove"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> RemoveProcessor:
        self = cls(tag, description)
        self.fields = self._templates(cfg, "field")
        self.keep = self._templates(cfg, "keep")
        if not self.fields and not self.keep:
            raise cfg.err("keep", "or [field] must be specified")
        if self.fields and self.keep:
            raise cfg.err("keep", "and [field] cannot both be used in the same processor")
        self.ignore_missing = cfg.boolean("ignore_missing", False)
        return self

    @staticmethod
    def _templates(cfg: Cfg, name: str) -> List[Template]:
        if not cfg.has(name):
            return []
        raw = cfg.obj(name)
        items = raw if isinstance(raw, list) else [raw]
        out = []
        for item in items:
            if not isinstance(item, str):
                raise cfg.err(name, f"property isn't a string, but of type [{java_class_name(item)}]")
            t = cfg.template(name, item)
            assert t is not None
            out.append(t)
        return out

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        if self.keep:
            keep = [doc.render(t) for t in self.keep]
            for field in get_all_fields(doc.ctx):
                if field in METADATA_KEYS:
                    continue
                if any(field == p or p.startswith(field + ".") or field.startswith(p + ".") for p in keep):
                    continue
                if doc.has_field(field):
                    doc.remove_field(field)
            return doc
        for t in self.fields:
            path = doc.render(t)
            if self.ignore_missing:
                if doc.has_field(path):
                    doc.remove_field(path)
            else:
                doc.remove_field(path)
        return doc


def _convert_integer(value: Any, bits: int) -> int:
    what = "integer" if bits == 32 else "long"
    s = java_to_string(value)
    try:
        if s.startswith(("0x", "-0x")):
            v = decode_java_int(s, bits)
        else:
            v = parse_java_int(s, bits)
    except IngestError as e:
        raise illegal_argument(f"unable to convert [{java_to_string(value)}] to {what}", cause=e) from None
    return v if bits == 32 else JavaLong(v)


def _convert_fp(value: Any, double: bool) -> float:
    s = java_to_string(value)
    try:
        return parse_java_double(s) if double else parse_java_float(s)
    except IngestError as e:
        raise illegal_argument(f"unable to convert [{java_to_string(value)}] to {'double' if double else 'float'}",
                               cause=e) from None


def _convert_boolean(value: Any) -> bool:
    s = java_to_string(value)
    if s.lower() == "true":
        return True
    if s.lower() == "false":
        return False
    raise illegal_argument(f"[{s}] is not a boolean value, cannot convert to boolean")


def _convert_ip(value: Any) -> Any:
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            pass
    raise illegal_argument(f"'{java_to_string(value)}' is not an IP string literal.")


def _convert_auto(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    for fn in (_convert_boolean, lambda v: _convert_integer(v, 32), lambda v: _convert_integer(v, 64),
               lambda v: _convert_fp(v, False), lambda v: _convert_fp(v, True)):
        try:
            return fn(value)
        except IngestError:
            continue
    return value


_CONVERTERS = {
    "integer": lambda v: _convert_integer(v, 32),
    "long": lambda v: _convert_integer(v, 64),
    "float": lambda v: _convert_fp(v, False),
    "double": lambda v: _convert_fp(v, True),
    "boolean": _convert_boolean,
    "ip": _convert_ip,
    "string": java_to_string,
    "auto": _convert_auto,
}


class ConvertProcessor(Processor):
    TYPE = "convert"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> ConvertProcessor:
        self = cls(tag, description)
        self.field = cfg.string("field")
        type_prop = cfg.string("type")
        self.target_field = cfg.string("target_field", self.field)
        if type_prop.lower() not in _CONVERTERS:
            raise cfg.err("type", f"type [{type_prop}] not supported, cannot convert field.")
        self.convert_type = type_prop.lower()
        self.ignore_missing = cfg.boolean("ignore_missing", False)
        return self

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        old = doc.get_field_value(self.field, ignore_missing=self.ignore_missing)
        if old is None and self.ignore_missing:
            return doc
        if old is None:
            raise illegal_argument(f"Field [{self.field}] is null, cannot be converted to type [{self.convert_type}]")
        fn = _CONVERTERS[self.convert_type]
        new = [fn(v) for v in old] if isinstance(old, list) else fn(old)
        doc.set_field_value(self.target_field, new)
        return doc


_ENGLISH_LOCALES = ("", "en", "en-us", "en_us", "english", "root", "en-gb", "en_gb", "us")


class SimulatorLimitation(RuntimeError):
    """Raised at run time for inputs the simulator cannot evaluate faithfully (never caught by on_failure)."""


class DateProcessor(Processor):
    TYPE = "date"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> DateProcessor:
        self = cls(tag, description)
        self.field = cfg.string("field")
        self.target_field = cfg.string("target_field", "@timestamp")
        self.timezone = cfg.template("timezone", cfg.string("timezone", None))
        self.locale = cfg.template("locale", cfg.string("locale", None))
        if self.locale is not None and not self.locale.is_template \
                and self.locale.source.lower() not in _ENGLISH_LOCALES:
            raise UnsupportedBySimulator(f"date locale [{self.locale.source}] is not implemented by the offline "
                                         "simulator (only English/ROOT month and day names)")
        formats = cfg.list("formats")
        assert formats is not None
        self.output_format = cfg.string("output_format", datefmt.DEFAULT_OUTPUT_FORMAT)
        try:
            self.formatter = datefmt.Formatter(self.output_format)
        except datefmt.UnsupportedPattern as e:
            raise UnsupportedBySimulator(str(e), metadata={"processor_type": "date"}) from None
        except IngestError as e:
            raise cfg.err("output_format", f"invalid output format [{self.output_format}]: {e.reason}") from None
        self.parsers = []
        for fmt in formats:
            try:
                self.parsers.append(datefmt.compile_parser(fmt))
            except datefmt.UnsupportedPattern as e:
                raise UnsupportedBySimulator(str(e)) from None
            except IngestError:
                # invalid patterns fail when the processor runs, like ES' lazily compiled formats
                self.parsers.append(_failing_parser(fmt))
        self.formats = formats
        return self

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        obj = doc.get_field_value(self.field)
        value = None if obj is None else java_to_string(obj)
        zone = datefmt.parse_zone(doc.render(self.timezone)) if self.timezone is not None else datefmt.UTC
        if self.locale is not None:
            loc = doc.render(self.locale)
            if loc.lower() not in _ENGLISH_LOCALES:
                # not an IngestError: must not be swallowed by on_failure/ignore_failure
                raise SimulatorLimitation(f"date locale [{loc}] is not implemented by the offline simulator")
        last: Optional[BaseException] = None
        result = None
        for parser in self.parsers:
            try:
                if value is None:
                    raise IngestError("null_pointer_exception", None)
                result = parser(value, zone)
                break
            except IngestError as e:
                last = e if last is None else last
        if result is None:
            raise illegal_argument(f"unable to parse date [{java_to_string(value)}]", cause=last)
        doc.set_field_value(self.target_field, self.formatter.format(result))
        return doc


def _failing_parser(fmt: str) -> Any:
    def parse(text: str, zone: Any) -> Any:
        raise illegal_argument(f"Invalid format: [{fmt}]")

    return parse


class _DupKeyError(ValueError):
    pass


def _jackson_loads(text: str, allow_duplicate_keys: bool, strict: bool) -> Any:
    def pairs(items: List[Any]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for k, v in items:
            if k in out and not allow_duplicate_keys:
                raise _DupKeyError(f"Duplicate field '{k}'")
            out[k] = v
        return out

    def bad_constant(name: str) -> Any:
        raise ValueError(f"Non-standard token '{name}': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS`")

    decoder = json.JSONDecoder(object_pairs_hook=pairs, parse_constant=bad_constant)
    stripped = text.lstrip(" \t\r\n")
    if stripped == "":
        return None  # no token at all: Jackson returns null
    value, end = decoder.raw_decode(stripped)
    rest = stripped[end:].strip(" \t\r\n")
    if rest and strict:
        raise ValueError(f"Unexpected trailing content [{rest[:20]}]")
    return value


class JsonProcessor(Processor):
    TYPE = "json"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> JsonProcessor:
        self = cls(tag, description)
        self.field = cfg.string("field")
        target = cfg.string("target_field", None)
        self.add_to_root = cfg.boolean("add_to_root", False)
        strategy = cfg.string("add_to_root_conflict_strategy", None)
        self.allow_duplicate_keys = cfg.boolean("allow_duplicate_keys", False)
        self.strict = cfg.boolean("strict_json_parsing", True)
        if strategy is not None:
            if not self.add_to_root:
                raise cfg.err("add_to_root_conflict_strategy",
                              "Cannot specify `add_to_root_conflict_strategy` unless `add_to_root` is true")
            if strategy.lower() not in ("replace", "merge"):
                raise cfg.err("add_to_root_conflict_strategy",
                              f"conflict strategy [{strategy}] not supported, cannot convert field.")
        self.merge = (strategy or "replace").lower() == "merge"
        if self.add_to_root and target is not None:
            raise cfg.err("target_field", "Cannot set a target field while also setting `add_to_root` to true")
        self.target_field = target if target is not None else self.field
        return self

    def _parse(self, value: Any) -> Any:
        text = "null" if value is None else java_to_string(value)
        try:
            return _jackson_loads(text, self.allow_duplicate_keys, self.strict)
        except (ValueError, _DupKeyError) as e:
            raise illegal_argument(str(e), cause=IngestError("json_parse_exception", str(e))) from None

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        if self.add_to_root:
            value = self._parse(doc.ctx.get(self.field))
            if not isinstance(value, dict):
                raise illegal_argument("cannot add non-map fields to root of document")
            if self.merge:
                _recursive_merge(doc.ctx, value)
            else:
                doc.ctx.update(value)
        else:
            doc.set_field_value(self.target_field, self._parse(doc.get_field_value(self.field)))
        return doc


def _recursive_merge(target: Dict[str, Any], source: Dict[str, Any]) -> None:
    for key, value in source.items():
        if key in target and isinstance(target[key], dict) and isinstance(value, dict):
            _recursive_merge(target[key], value)
        else:
            target[key] = value


_STRIP_BRACKETS = re.compile(r"(^[\(\[<\"'])|([\]\)>\"']$)")


class KeyValueProcessor(Processor):
    TYPE = "kv"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> KeyValueProcessor:
        self = cls(tag, description)
        self.field = cfg.template("field", cfg.string("field"))
        self.target_field = cfg.template("target_field", cfg.string("target_field", None))
        self.field_split = cfg.string("field_split")
        self.value_split = cfg.string("value_split")
        trim_key = cfg.string("trim_key", None)
        trim_value = cfg.string("trim_value", None)
        self.prefix = cfg.string("prefix", None)
        self.strip_brackets = cfg.boolean("strip_brackets", False)
        inc = cfg.list("include_keys", required=False)
        exc = cfg.list("exclude_keys", required=False)
        self.include_keys = set(inc) if inc is not None else None
        self.exclude_keys = set(exc) if exc is not None else None
        self.ignore_missing = cfg.boolean("ignore_missing", False)
        try:
            self.field_rx = compile_java_regex(self.field_split)
            self.value_rx = compile_java_regex(self.value_split)
            self.trim_key = compile_java_regex(f"(^([{trim_key}]+))|([{trim_key}]+$)") if trim_key else None
            self.trim_value = compile_java_regex(f"(^([{trim_value}]+))|([{trim_value}]+$)") if trim_value else None
        except JavaRegexError as e:
            raise UnsupportedBySimulator(f"kv: regex not supported by the offline simulator: {e}") from None
        return self

    def _key_ok(self, key: str) -> bool:
        if self.include_keys is not None and key not in self.include_keys:
            return False
        return not (self.exclude_keys is not None and key in self.exclude_keys)

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        target = doc.render(self.target_field) if self.target_field is not None else ""
        key_prefix = self.prefix or ""
        path_prefix = key_prefix if target == "" else f"{target}.{key_prefix}"
        path = doc.render(self.field)
        if path == "" or not doc.has_field(path, True):
            if self.ignore_missing:
                return doc
            raise illegal_argument(f"field [{path}] doesn't exist")
        value = doc.get_field_value(path, ignore_missing=self.ignore_missing, expected=str,
                                    expected_name="java.lang.String")
        if value is None:
            if self.ignore_missing:
                return doc
            raise illegal_argument(f"field [{path}] is null, cannot extract key-value pairs.")
        for part in java_split(self.field_rx, value, 0):
            kv = java_split(self.value_rx, part, 2)
            if len(kv) != 2:
                raise illegal_argument(f"field [{path}] does not contain value_split [{self.value_split}]")
            key = self.trim_key.sub("", kv[0]) if self.trim_key else kv[0]
            if not self._key_ok(key):
                continue
            val = _STRIP_BRACKETS.sub("", kv[1]) if self.strip_brackets else kv[1]
            val = self.trim_value.sub("", val) if self.trim_value else val
            full = path_prefix + key
            if doc.has_field(full):
                doc.append_field_value(full, val)
            else:
                doc.set_field_value(full, val)
        return doc


class SplitProcessor(Processor):
    TYPE = "split"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> SplitProcessor:
        self = cls(tag, description)
        self.field = cfg.string("field")
        self.separator = cfg.string("separator")
        self.target_field = cfg.string("target_field", self.field)
        self.ignore_missing = cfg.boolean("ignore_missing", False)
        self.preserve_trailing = cfg.boolean("preserve_trailing", False)
        try:
            self.rx = compile_java_regex(self.separator)
        except JavaRegexError as e:
            raise UnsupportedBySimulator(f"split: separator regex not supported by the offline simulator: {e}") \
                from None
        return self

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        old = doc.get_field_value(self.field, ignore_missing=self.ignore_missing, expected=str,
                                  expected_name="java.lang.String")
        if old is None and self.ignore_missing:
            return doc
        if old is None:
            raise illegal_argument(f"field [{self.field}] is null, cannot split.")
        doc.set_field_value(self.target_field, java_split(self.rx, old, -1 if self.preserve_trailing else 0))
        return doc


class JoinProcessor(Processor):
    TYPE = "join"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> JoinProcessor:
        self = cls(tag, description)
        self.field = cfg.string("field")
        self.separator = cfg.string("separator")
        self.target_field = cfg.string("target_field", self.field)
        return self

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        lst = doc.get_field_value(self.field, expected=list, expected_name="java.util.List")
        if lst is None:
            raise illegal_argument(f"field [{self.field}] is null, cannot join.")
        doc.set_field_value(self.target_field, self.separator.join(java_to_string(v) for v in lst))
        return doc


class AbstractStringProcessor(Processor):
    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> AbstractStringProcessor:
        self = cls(tag, description)
        self.field = cfg.string("field")
        self.ignore_missing = cfg.boolean("ignore_missing", False)
        self.target_field = cfg.string("target_field", self.field)
        self.configure(cfg)
        return self

    def configure(self, cfg: Cfg) -> None:
        pass

    def process(self, value: str) -> Any:
        raise NotImplementedError

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        val = doc.get_field_value(self.field, ignore_missing=self.ignore_missing)
        if val is None and self.ignore_missing:
            return doc
        if val is None:
            raise illegal_argument(f"field [{self.field}] is null, cannot process it.")
        if isinstance(val, list):
            new = []
            for v in val:
                if not isinstance(v, str):
                    raise illegal_argument(f"value [{java_to_string(v)}] of type [{java_class_name(v)}] in list field "
                                           f"[{self.field}] cannot be cast to [java.lang.String]")
                new.append(self.process(v))
            doc.set_field_value(self.target_field, new)
        else:
            if not isinstance(val, str):
                raise illegal_argument(f"field [{self.field}] of type [{java_class_name(val)}] cannot be cast to "
                                       "[java.lang.String]")
            doc.set_field_value(self.target_field, self.process(val))
        return doc


class LowercaseProcessor(AbstractStringProcessor):
    TYPE = "lowercase"

    def process(self, value: str) -> str:
        return java_lower(value)


class UppercaseProcessor(AbstractStringProcessor):
    TYPE = "uppercase"

    def process(self, value: str) -> str:
        return java_upper(value)


class TrimProcessor(AbstractStringProcessor):
    TYPE = "trim"

    def process(self, value: str) -> str:
        return java_trim(value)


class GsubProcessor(AbstractStringProcessor):
    TYPE = "gsub"

    def configure(self, cfg: Cfg) -> None:
        pattern = cfg.string("pattern")
        try:
            self.rx = compile_java_regex(pattern)
        except JavaRegexError as e:
            raise UnsupportedBySimulator(f"gsub: pattern [{pattern}] not supported by the offline simulator: {e}") \
                from None
        replacement = cfg.string("replacement")
        self.replacement = replacement
        try:
            self.repl_fn = java_replacement(replacement, self.rx)
        except IngestError:
            self.repl_fn = None  # Java reports bad replacements when the processor runs

    def process(self, value: str) -> str:
        if self.repl_fn is None:
            java_replacement(self.replacement, self.rx)  # raises the Java error
        assert self.repl_fn is not None
        return self.rx.sub(self.repl_fn, value)


class DotExpanderProcessor(Processor):
    TYPE = "dot_expander"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> DotExpanderProcessor:
        self = cls(tag, description)
        field = cfg.string("field")
        if "." not in field and field != "*":
            raise cfg.err("field", "field does not contain a dot and is not a wildcard")
        if field.startswith(".") or field.endswith("."):
            raise cfg.err("field", "Field can't start or end with a dot")
        if ".." in field:
            raise cfg.err("field", "No space between dots")
        self.field = field
        self.path = cfg.string("path", None)
        self.override = cfg.boolean("override", False)
        return self

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        if self.path is not None:
            mp = doc.get_field_value(self.path, expected=dict, expected_name="java.util.Map")
        else:
            mp = doc.ctx
        if self.field == "*":
            for key in list(mp.keys()):
                if key.find(".") > 0:
                    self._expand(doc, key, mp)
        else:
            self._expand(doc, self.field, mp)
        return doc

    def _expand(self, doc: IngestDocument, field: str, mp: Dict[str, Any]) -> None:
        path = f"{self.path}.{field}" if self.path is not None else field
        if field not in mp:
            return
        if doc.has_field(path):
            value = mp.pop(field)
            if self.override:
                doc.set_field_value(path, value)
            else:
                doc.append_field_value(path, value)
            return
        idx = path.find(".")
        while idx != -1:
            partial = path[:idx]
            if doc.has_field(partial):
                val = doc.get_field_value(partial)
                if not isinstance(val, dict):
                    raise illegal_argument(f"cannot expand [{path}], because [{partial}] is not an object field, "
                                           "but a value field")
            else:
                break
            idx = path.find(".", idx + 1)
        value = mp.pop(field)
        doc.set_field_value(path, value)


class ForEachProcessor(Processor):
    TYPE = "foreach"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> ForEachProcessor:
        self = cls(tag, description)
        self.field = cfg.string("field")
        self.ignore_missing = cfg.boolean("ignore_missing", False)
        pconf = cfg.map("processor")
        if len(pconf) != 1:
            raise cfg.err("processor", "Must specify exactly one processor type")
        (ptype, pcfg), = pconf.items()
        self.processor = read_processor(ptype, pcfg, rf)
        return self

    def execute(self, doc: IngestDocument, runtime: Runtime) -> Optional[IngestDocument]:
        obj = doc.get_field_value(self.field, ignore_missing=self.ignore_missing)
        if obj is None:
            if self.ignore_missing:
                return doc
            raise illegal_argument(f"field [{self.field}] is null, cannot loop over its elements.")
        if isinstance(obj, dict):
            new_map: Dict[str, Any] = {}
            for key in list(obj.keys()):
                prev_key = doc.ingest.get("_key")
                prev_value = doc.ingest.get("_value")
                doc.ingest["_key"] = key
                doc.ingest["_value"] = obj[key]
                try:
                    result = runtime.run_plain(self.processor, doc)
                finally:
                    new_key = doc.ingest.pop("_key", None)
                    new_value = doc.ingest.pop("_value", None)
                    if prev_key is not None:
                        doc.ingest["_key"] = prev_key
                    if prev_value is not None:
                        doc.ingest["_value"] = prev_value
                if result is None:
                    return None
                # ForEachProcessor#innerExecuteMap: `if (Strings.hasText(newKey)) newValues.put(newKey, ...)`,
                # i.e. setting `_ingest._key` to null, "" or whitespace removes the entry.
                if isinstance(new_key, str) and java_has_text(new_key):
                    new_map[new_key] = new_value
            doc.set_field_value(self.field, new_map)
            return doc
        if isinstance(obj, list):
            values = list(obj)
            new_values = []
            for value in values:
                prev_value = doc.ingest.get("_value")
                doc.ingest["_value"] = value
                try:
                    result = runtime.run_plain(self.processor, doc)
                finally:
                    new_values.append(doc.ingest.pop("_value", None))
                    if prev_value is not None:
                        doc.ingest["_value"] = prev_value
                if result is None:
                    return None
            doc.set_field_value(self.field, new_values)
            return doc
        raise illegal_argument(f"field [{self.field}] of type [{java_class_name(obj)}] cannot be cast to a list or map")


# -------------------------------------------------------------- fingerprint
#
# Written from FingerprintProcessor.java and Murmur3Hasher.java (elastic/elasticsearch,
# modules/ingest-common and libs/core) and deliberately kept apart from integrations/identity.py:
# this simulator is the oracle that proves the project's ingest pipeline computes the same id as
# integrations.identity.event_id, so it must not share that module's code. Both are checked
# against Elasticsearch's own test vectors (reference/elasticsearch/fingerprint_vectors.json).

_U64 = (1 << 64) - 1
_MURMUR_C1 = 0x87C37B91114253D5
_MURMUR_C2 = 0x4CF5AD432745937F


def _rol(x: int, bits: int) -> int:
    return ((x << bits) | (x >> (64 - bits))) & _U64


def _scramble(k: int, first: int, bits: int, second: int) -> int:
    """MurmurHash3's mix of one 64-bit input word: multiply, rotate left, multiply (mod 2**64)."""
    return (_rol((k * first) & _U64, bits) * second) & _U64


def _avalanche(h: int) -> int:
    """MurmurHash3's ``fmix64`` finaliser."""
    for multiplier in (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53):
        h ^= h >> 33
        h = (h * multiplier) & _U64
    return h ^ (h >> 33)


def murmur3_x64_128(data: bytes, seed: int = 0) -> bytes:
    """MurmurHash3 x64 128-bit as ``Murmur3Hasher#digest`` returns it: h1 then h2, each big-endian.

    The input is read as 16-byte blocks of two little-endian words. The 0-15 byte tail is
    zero-padded to one more block whose words are only scrambled (no block rounds): a zero word
    scrambles to zero, so the padding changes nothing. Verified against the MurmurHash3 vector of
    ``fingerprint_vectors.json``.
    """
    h1 = h2 = seed & _U64
    whole = len(data) - len(data) % 16
    for offset in range(0, whole, 16):
        k1 = int.from_bytes(data[offset:offset + 8], "little")
        k2 = int.from_bytes(data[offset + 8:offset + 16], "little")
        h1 ^= _scramble(k1, _MURMUR_C1, 31, _MURMUR_C2)
        h1 = ((_rol(h1, 27) + h2) * 5 + 0x52DCE729) & _U64
        h2 ^= _scramble(k2, _MURMUR_C2, 33, _MURMUR_C1)
        h2 = ((_rol(h2, 31) + h1) * 5 + 0x38495AB5) & _U64
    tail = data[whole:].ljust(16, b"\0")
    h1 ^= _scramble(int.from_bytes(tail[:8], "little"), _MURMUR_C1, 31, _MURMUR_C2)
    h2 ^= _scramble(int.from_bytes(tail[8:], "little"), _MURMUR_C2, 33, _MURMUR_C1)
    h1 ^= len(data)
    h2 ^= len(data)
    h1 = (h1 + h2) & _U64
    h2 = (h2 + h1) & _U64
    h1, h2 = _avalanche(h1), _avalanche(h2)
    h1 = (h1 + h2) & _U64
    h2 = (h2 + h1) & _U64
    return ((h1 << 64) | h2).to_bytes(16, "big")


_DIGESTS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}
SUPPORTED_DIGESTS = ("MD5", "SHA-1", "SHA-256", "SHA-512", "MurmurHash3")


def _digest(method: str, payload: bytes) -> bytes:
    if method == "MurmurHash3":
        return murmur3_x64_128(payload)
    return hashlib.new(_DIGESTS[method], payload).digest()


def fingerprint_bytes(value: Any) -> bytes:
    """``FingerprintProcessor#toBytes``."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace")  # String#getBytes(UTF_8): a lone surrogate becomes '?'
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, bool):
        return b"\x01" if value else b"\x02"
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        if not isinstance(value, JavaLong) and -(2**31) <= value < 2**31:
            return struct.pack("<i", value)
        return struct.pack("<q", value)
    if isinstance(value, JavaFloat):
        return struct.pack("<f", value)
    if isinstance(value, float):
        return struct.pack("<d", value)
    if isinstance(value, IngestTimestamp):
        secs, nanos = divmod(value.epoch_nanos, 1_000_000_000)
        import datetime as _dt

        d = _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=secs)
        zone = b"Z"
        return struct.pack("<8i", d.year, d.month, d.day, d.hour, d.minute, d.second, nanos, 0) + zone
    if value is None:
        return b""
    raise illegal_argument(f"cannot convert object of type [{java_class_name(value)}] to bytes")


def _fed_bytes(value: Any) -> Iterator[bytes]:
    """The byte chunks ``FingerprintProcessor#execute`` feeds for one field value.

    The Java code walks an explicit stack; this is the same depth-first, pre-order walk written
    recursively: list elements in order, set elements and map entries in natural order
    (``0x00`` + key, then the entry's value), every other value as ``0x00`` + ``toBytes``.
    """
    if isinstance(value, list):
        for element in value:
            yield from _fed_bytes(element)
    elif isinstance(value, (set, frozenset)):
        for element in sorted(value, key=java_natural_key):
            yield from _fed_bytes(element)
    elif isinstance(value, dict):
        for key in sorted(value, key=java_natural_key):
            yield b"\x00" + fingerprint_bytes(key)
            yield from _fed_bytes(value[key])
    else:
        yield b"\x00" + fingerprint_bytes(value)


def fingerprint(values: List[Any], method: str = "SHA-1", salt: str = "") -> str:
    """Digest of already-resolved field values (in sorted field order), Base64.

    The salt is fed first when ``Strings.hasText(salt)`` (the factory stores no salt otherwise).
    """
    payload = bytearray(fingerprint_bytes(salt) if java_has_text(salt) else b"")
    for value in values:
        for chunk in _fed_bytes(value):
            payload += chunk
    return base64.b64encode(_digest(method, bytes(payload))).decode("ascii")


class FingerprintProcessor(Processor):
    TYPE = "fingerprint"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> FingerprintProcessor:
        self = cls(tag, description)
        fields = cfg.list("fields")
        assert fields is not None
        if len(fields) < 1:
            raise cfg.err("fields", "must specify at least one field")
        self.fields = sorted(fields, key=java_natural_key)  # Comparator.naturalOrder()
        self.target_field = cfg.string("target_field", "fingerprint")
        self.salt = cfg.string("salt", "")
        self.method = cfg.string("method", "SHA-1")
        if self.method not in SUPPORTED_DIGESTS:
            raise cfg.err("method", f"[{self.method}] must be one of the supported hash methods "
                                    f"[{','.join(SUPPORTED_DIGESTS)}]")
        self.ignore_missing = cfg.boolean("ignore_missing", False)
        return self

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        values = []
        for field in self.fields:
            value = doc.get_field_value(field, ignore_missing=True)
            if value is None:
                if self.ignore_missing:
                    continue
                raise illegal_argument(f"missing field [{field}] when calculating fingerprint")
            values.append(value)
        if values:
            doc.set_field_value(self.target_field, fingerprint(values, self.method, self.salt))
        return doc


# -------------------------------------------------------------- control flow


class PipelineProcessor(Processor):
    TYPE = "pipeline"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> PipelineProcessor:
        self = cls(tag, description)
        self.name = cfg.template("name", cfg.string("name"))
        self.ignore_missing_pipeline = cfg.boolean("ignore_missing_pipeline", False)
        return self

    def pipeline_name(self, doc: IngestDocument) -> str:
        return doc.render(self.name)

    def execute(self, doc: IngestDocument, runtime: Runtime) -> Optional[IngestDocument]:
        name = self.pipeline_name(doc)
        pipeline = runtime.get_pipeline(name)
        if pipeline is None:
            if self.ignore_missing_pipeline:
                return doc
            raise IngestError("illegal_state_exception",
                              f"Pipeline processor configured for non-existent pipeline [{name}]")
        return runtime.run_pipeline(pipeline, doc)


class DropProcessor(Processor):
    TYPE = "drop"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> DropProcessor:
        return cls(tag, description)

    def execute(self, doc: IngestDocument, runtime: Runtime) -> None:
        return None


class TerminateProcessor(Processor):
    TYPE = "terminate"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> TerminateProcessor:
        return cls(tag, description)

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        doc.terminated = True
        return doc


class FailProcessor(Processor):
    TYPE = "fail"

    @classmethod
    def create(cls, cfg: Cfg, tag: Optional[str], description: Optional[str], rf: Any) -> FailProcessor:
        self = cls(tag, description)
        self.message = cfg.template("message", cfg.string("message"))
        return self

    def execute(self, doc: IngestDocument, runtime: Runtime) -> IngestDocument:
        raise IngestError("fail_processor_exception", doc.render(self.message))


REGISTRY: Dict[str, Any] = {
    cls.TYPE: cls
    for cls in (
        SetProcessor, AppendProcessor, RenameProcessor, RemoveProcessor, ConvertProcessor, DateProcessor,
        JsonProcessor, KeyValueProcessor, SplitProcessor, JoinProcessor, LowercaseProcessor, UppercaseProcessor,
        TrimProcessor, GsubProcessor, DotExpanderProcessor, ForEachProcessor, FingerprintProcessor,
        PipelineProcessor, DropProcessor, TerminateProcessor, FailProcessor,
    )
}


# -------------------------------------------------------------- reading processor configs


def read_processor_configs(configs: Optional[List[Any]], rf: Any = None) -> List[Processor]:
    """``ConfigurationUtils#readProcessorConfigs``: the first error wins."""
    first: Optional[BaseException] = None
    out: List[Processor] = []
    for item in configs or []:
        if not isinstance(item, dict):
            err = config_error(None, None, None, f"property isn't a map, but of type [{java_class_name(item)}]")
            first = first or err
            continue
        for ptype, pcfg in item.items():
            try:
                if pcfg is None:
                    raise config_error(ptype, None, None, "processor config cannot be [null]")
                out.append(read_processor(ptype, pcfg, rf))
            except IngestError as e:
                first = first or e
    if first is not None:
        raise first
    return out


def read_processor(ptype: str, config: Any, rf: Any = None) -> Processor:
    """``ConfigurationUtils#readProcessor`` (wrapping order: if -> on_failure -> processor)."""
    if not isinstance(config, dict):
        if isinstance(config, str) and ptype == "script":
            config = {"source": config}
        else:
            raise config_error(ptype, None, None, f"property isn't a map, but of type [{java_class_name(config)}]")
    config = dict(config)
    tag = Cfg(ptype, None, config).string("tag", None) if "tag" in config else None
    description = Cfg(ptype, tag, config).string("description", None) if "description" in config else None
    condition_src = config.pop("if", None)
    cls = REGISTRY.get(ptype)
    if cls is None:
        if ptype in NOT_IMPLEMENTED:
            err = UnsupportedBySimulator(f"processor [{ptype}] is not implemented by the offline ingest simulator")
        else:
            err = ParseError(f"No processor type exists with name [{ptype}]")
        err.add_metadata("processor_type", ptype)
        err.add_metadata("processor_tag", tag)
        raise err
    cfg = Cfg(ptype, tag, config)
    ignore_failure = Cfg(None, None, config).boolean("ignore_failure", False)  # type: ignore[arg-type]
    on_failure_cfgs = Cfg(None, None, config).list("on_failure", required=False)  # type: ignore[arg-type]
    on_failure = read_processor_configs(on_failure_cfgs, rf)
    if on_failure_cfgs is not None and not on_failure:
        raise config_error(ptype, tag, "on_failure", "processors list cannot be empty")
    try:
        processor = cls.create(cfg, tag, description, rf)
        if config:
            raise ParseError(f"processor [{ptype}] doesn't support one or more provided configuration parameters "
                             f"[{', '.join(config.keys())}]")
        if on_failure or ignore_failure:
            processor = CompoundProcessor(ignore_failure, [processor], on_failure)
        if condition_src is not None:
            try:
                condition = Condition(condition_src)
            except ConditionSyntaxError as e:
                where = f"processor [{ptype}]" + (f" with tag [{tag}]" if tag else " (no tag)")
                raise UnsupportedBySimulator(
                    f"[if] condition {condition_src!r} of {where} is outside the supported subset: {e}") from None
            processor = ConditionalProcessor(tag, description, condition, processor)
        return processor
    except IngestError as e:
        e.metadata.setdefault("processor_type", ptype)
        e.metadata["processor_type"] = ptype
        if tag is not None:
            e.metadata["processor_tag"] = tag
        raise
