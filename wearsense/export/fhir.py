"""FHIR R4 export: one ``collection`` Bundle of a Patient (pseudonymous), the Devices
that produced the events (serial, firmware and model versions) and Observations coded
after the HL7 Personal Health Records IG and US Core. Code mapping and the source of
every code: docs/clinical-export.md.

Every Observation made from events names them in ``identifier`` (system
``urn:wearsense:event``, value ``SERIAL/EPOCH/SEQ``, type text = the event type) with two
extensions on each identifier: the model version and the event's time. With the
components (one per payload field) that is enough to rebuild the events:
``read_bundle`` does, and the round-trip test compares the result with the store.

Speed: the Bundle is built as plain dicts (shared constant parts, times formatted from a
cached UTC offset) and written as compact JSON; ``write_fhir`` checks it with
``fhir.resources`` on a sample that holds every shape of resource it made, ``validate``
checks every entry (the tests use it).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as day_time
from pathlib import Path
from typing import Any

from wearsense.export.common import (
    EventRecord,
    ExportData,
    ExportError,
    atomic_path,
    progress,
)
from wearsense.protocol import EventKind, RhythmClass
from wearsense.store import StoredEvent, derived
from wearsense.store.derived import ACTIVITY_NAMES, ACTIVITY_SUMMARY_S
from wearsense.store.strips import StoredStrip

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MDC = "urn:iso:std:iso:11073:10101"  # ISO/IEEE 11073-10101 nomenclature
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PHR_PGHD = "http://hl7.org/fhir/uv/phr/CodeSystem/observation-pghd-codes"
PHR_ECG = "http://hl7.org/fhir/uv/phr/CodeSystem/ecg-codes"
PHR_ECG_CLASS = "http://hl7.org/fhir/uv/phr/CodeSystem/ecg-classification-codes"
# The project's one code system, for what no published terminology has: observation
# codes (activity-minutes, data-gap) and component codes TYPE.FIELD (af_start.hr_bpm).
WEARSENSE = "http://wearsense.invalid/fhir/CodeSystem/wearsense"
EXT_MODEL = "http://wearsense.invalid/fhir/StructureDefinition/model-version"
EXT_TIME = "http://wearsense.invalid/fhir/StructureDefinition/event-time"
EVENT_SYSTEM = "urn:wearsense:event"
SERIAL_SYSTEM = "urn:wearsense:device-serial"
PSEUDONYM_SYSTEM = "urn:wearsense:pseudonym"
NAMESPACE = uuid.UUID("6f2c5a53-8d0e-4a3b-9b1e-57534e530001")
_NS = NAMESPACE.bytes

# The event types an Observation carries (and read_bundle gives back).
FHIR_TYPES = (
    EventKind.AF_START,
    EventKind.AF_END,
    EventKind.HR_SUMMARY,
    EventKind.FALL,
    EventKind.FALL_CANCELLED,
    EventKind.ACTIVITY_SUMMARY,
    EventKind.ECG_RECORDING,
)


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


# Observation.code of each kind (sources: docs/clinical-export.md, "Codes").
ECG_INTERPRETATION = [_coding(LOINC, "8601-7", "EKG impression")]
ECG_WAVEFORM = [_coding(MDC, "131329", "MDC_ECG_ELEC_POTL_I")]  # lead I potential
STRIP_SYSTEM = "urn:wearsense:strip"  # identifier value SERIAL/EPOCH/STRIP_ID
HR_CODES = [
    _coding(LOINC, "8867-4", "Heart rate"),
    _coding(MDC, "147842", "MDC_ECG_HEART_RATE"),
    _coding(PHR_PGHD, "heartRate", "Heart rate"),
]
AF_BURDEN_CODES = [_coding(PHR_PGHD, "atrialFibrillationBurden", "Atrial fibrillation burden")]
FALL_CODES = [_coding(PHR_PGHD, "numberOfTimesFallen", "Number of times fallen")]
ACTIVITY_CODES = [_coding(WEARSENSE, "activity-minutes", "Activity minutes")]
GAP_CODES = [_coding(WEARSENSE, "data-gap", "No data from the wearable")]
HR_CODE = HR_CODES[0]

# Observation.valueCodeableConcept of an ECG interpretation: the PHR IG's ECG
# classification, with the SNOMED CT finding where there is one.
SINUS = [
    _coding(PHR_ECG_CLASS, "sinusRhythm", "Sinus rhythm"),
    _coding(SNOMED, "426783006", "ECG: sinus rhythm"),
]
ATRIAL_FIBRILLATION = [
    _coding(PHR_ECG_CLASS, "atrialFibrillation", "Atrial fibrillation"),
    _coding(SNOMED, "164889003", "ECG: atrial fibrillation"),
]
POOR_READING = [_coding(PHR_ECG_CLASS, "inconclusivePoorReading", "Inconclusive poor reading")]
HIGH_RATE = [_coding(PHR_ECG_CLASS, "inconclusiveHighHeartRate", "Inconclusive high heart rate")]
LOW_RATE = [_coding(PHR_ECG_CLASS, "inconclusiveLowHeartRate", "Inconclusive low heartrate")]
OTHER = [_coding(PHR_ECG_CLASS, "inconclusiveOther", "Inconclusive other")]
# an ``other rhythm`` recording is inconclusive for a high or low rate outside these
# limits (beats/minute), as the PHR IG defines those codes; else "inconclusive other"
LOW_RATE_BPM, HIGH_RATE_BPM = 50, 150

UNITS = {
    "bpm": ("/min", "beats/minute"),
    "s": ("s", "s"),
    "min": ("min", "min"),
    "%": ("%", "%"),
    "m[g]": ("m[g]", "milli g"),
    "h": ("h", "h"),
    "count": ("{#}", "count"),
}
FIELD_UNITS = {
    "hr_bpm": "bpm",
    "mean_hr_bpm": "bpm",
    "min_bpm": "bpm",
    "mean_bpm": "bpm",
    "max_bpm": "bpm",
    "confidence": "%",
    "onset_lag_s": "s",
    "duration_s": "s",
    "delay_s": "s",
    "stillness_s": "s",
    "impact_mg": "m[g]",
    "interval_s": "s",
    "analysable_s": "s",
    "af_s": "s",
    "fall_seq": "",
    "rhythm_class": "",
    "quality": "",
}


def rhythm_value(rhythm_class: int, hr_bpm: int) -> list[dict[str, str]]:
    """The codings of an ECG interpretation for a device rhythm class (and rate)."""
    if rhythm_class == RhythmClass.NORMAL:
        return SINUS
    if rhythm_class == RhythmClass.AF:
        return ATRIAL_FIBRILLATION
    if rhythm_class == RhythmClass.NOISY:
        return POOR_READING
    if hr_bpm > HIGH_RATE_BPM:
        return HIGH_RATE
    if 0 < hr_bpm < LOW_RATE_BPM:
        return LOW_RATE
    return OTHER


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _uuid(*parts: object) -> str:
    """``str(uuid.uuid5(NAMESPACE, "/".join(parts)))``, without the UUID object: the SHA-1
    hex digits with the version digit set to 5 and the variant bits to 10."""
    h = hashlib.sha1(_NS + "/".join(map(str, parts)).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def _quantity(value: float, unit_key: str) -> dict[str, Any]:
    if not unit_key:
        return {"value": value}
    code, text = UNITS[unit_key]
    return {"value": value, "unit": text, "system": UCUM, "code": code}


_FIELD_CODES: dict[str, dict[str, Any]] = {}


def _field_code(code: str) -> dict[str, Any]:
    """The (shared) CodeableConcept of a component ``TYPE.FIELD``."""
    got = _FIELD_CODES.get(code)
    if got is None:
        got = _FIELD_CODES[code] = {"coding": [{"system": WEARSENSE, "code": code}]}
    return got


def _component(type_name: str, name: str, value: float) -> dict[str, Any]:
    return {
        "code": _field_code(f"{type_name}.{name}"),
        "valueQuantity": _quantity(value, FIELD_UNITS.get(name, "")),
    }


def _components(type_name: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [_component(type_name, k, v) for k, v in fields.items()]


def _category(*codes: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBS_CATEGORY, "code": code}]} for code in codes]


class IsoClock:
    """``ExportData.iso`` (ISO 8601 with the patient's UTC offset, whole seconds) for many
    times: the offset is looked up once per hour of UTC and reused when the hour's start
    and end agree (an hour with a clock change is computed exactly), and the text of the
    local date and hour once per local hour."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._offsets: dict[int, tuple[int, str] | None] = {}
        self._hours: dict[int, str] = {}
        # the last texts by whole second: a summary's start is the previous one's end
        self._recent: dict[int, str] = {}

    def _offset(self, utc: float) -> tuple[int, str]:
        offset = datetime.fromtimestamp(utc, self.tz).utcoffset() or timedelta(0)
        total = int(offset.total_seconds())
        sign = "-" if total < 0 else "+"
        hours, rest = divmod(abs(total), 3600)
        minutes, secs = divmod(rest, 60)
        return total, f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")

    def offset(self, seconds: int) -> tuple[int, str] | None:
        """(UTC offset in seconds, its text) for the hour of ``seconds``, None when the
        offset changes within that hour."""
        hour = seconds // 3600
        try:
            return self._offsets[hour]
        except KeyError:
            first, last = self._offset(hour * 3600), self._offset(hour * 3600 + 3599)
            got = self._offsets[hour] = first if first == last else None
            return got

    def __call__(self, utc: float) -> str:
        seconds = math.floor(round(utc, 6))
        text = self._recent.get(seconds)
        if text is not None:
            return text
        found = self.offset(seconds)
        if found is None:
            return datetime.fromtimestamp(utc, self.tz).isoformat(timespec="seconds")
        local = seconds + found[0]
        hour, rest = divmod(local, 3600)
        prefix = self._hours.get(hour)
        if prefix is None:
            t = time.gmtime(hour * 3600)
            prefix = self._hours[hour] = (
                f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:"
            )
        minute, second = divmod(rest, 60)
        text = f"{prefix}{minute:02d}:{second:02d}{found[1]}"
        if len(self._recent) > 4096:
            self._recent.clear()
        self._recent[seconds] = text
        return text


def _json(value: Any) -> str:
    """JSON text of a template's value (ints, strings, and the shared subject and device
    dicts)."""
    if type(value) is int:
        return str(value)
    if type(value) is str:
        if '"' in value or "\\" in value or not value.isprintable():
            return json.dumps(value, ensure_ascii=False)
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Template:
    """JSON text of an entry with holes: built once from the entry's dict with markers
    ``"@@name@@"`` in the place of values, filled with JSON text (``render``)."""

    def __init__(self, entry: dict[str, Any]) -> None:
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).replace("%", "%%")
        self.text = re.sub(r'"@@(\w+)@@"', r"%(\1)s", text)

    def render(self, values: dict[str, str]) -> str:
        return self.text % values


def _marked(names: Iterable[str]) -> dict[str, Any]:
    return {n: f"@@{n}@@" for n in names}


def _identifier(version: Any, moment: Any, value: Any, type_name: str) -> dict[str, Any]:
    return {
        "extension": [
            {"url": EXT_MODEL, "valueInteger": version},
            {"url": EXT_TIME, "valueDateTime": moment},
        ],
        "system": EVENT_SYSTEM,
        "value": value,
        "type": {"text": type_name},
    }


_SUMMARY_KEYS = ("url", "id", "version", "subject", "device", "time", "value", "start", "end")


def _hr_entry(p: dict[str, Any]) -> dict[str, Any]:
    """The entry of a heart-rate summary (the code path of dicts and of the template)."""
    hr = EventKind.HR_SUMMARY
    return {
        "fullUrl": p["url"],
        "resource": {
            "resourceType": "Observation",
            "id": p["id"],
            # no model-version extension: the heart rate is the QRS detector's
            "status": "final",
            "category": VITAL_CATEGORY,
            "code": HR_CONCEPT,
            "subject": p["subject"],
            "device": p["device"],
            "identifier": [_identifier(p["version"], p["time"], p["value"], hr)],
            "effectivePeriod": {"start": p["start"], "end": p["end"]},
            "valueQuantity": _quantity(p["mean_bpm"], "bpm"),
            # interval and mean are the period and the value: not repeated
            "component": [
                _component(hr, "min_bpm", p["min_bpm"]),
                _component(hr, "max_bpm", p["max_bpm"]),
            ],
        },
    }


def _activity_entry(p: dict[str, Any]) -> dict[str, Any]:
    """The entry of an activity summary (the code path of dicts and of the template)."""
    kind = EventKind.ACTIVITY_SUMMARY
    return {
        "fullUrl": p["url"],
        "resource": {
            "resourceType": "Observation",
            "id": p["id"],
            "extension": [{"url": EXT_MODEL, "valueInteger": p["version"]}],
            "status": "final",
            "category": ACTIVITY_CATEGORY,
            "code": ACTIVITY_CONCEPT,
            "subject": p["subject"],
            "device": p["device"],
            "identifier": [_identifier(p["version"], p["time"], p["value"], kind)],
            "effectivePeriod": {"start": p["start"], "end": p["end"]},
            "valueQuantity": _quantity(p["total"], "min"),
            "component": [
                {
                    "code": _field_code(f"{kind}.minutes.{name}"),
                    "valueQuantity": _quantity(p[name], "min"),
                }
                for name in ACTIVITY_NAMES
            ],
        },
    }


class _Builder:
    def __init__(self, data: ExportData) -> None:
        self.data = data
        self.iso = IsoClock(data.tz)
        self.patient_ref = "urn:uuid:" + _uuid("patient", data.patient_label)
        self.subject = {"reference": self.patient_ref}
        self.device_refs = {d.serial: "urn:uuid:" + _uuid("device", d.serial) for d in data.devices}
        self._devices: dict[tuple[str, int], dict[str, str]] = {}
        self._models: dict[int, list[dict[str, Any]]] = {}
        self._templates: dict[str, _Template] = {}
        self._json: dict[int, str] = {}
        self._plain: dict[str, bool] = {}
        self.entries: list[dict[str, Any] | tuple[str, str]] = []

    def device_ref(self, serial: str) -> str:
        if serial not in self.device_refs:
            self.device_refs[serial] = "urn:uuid:" + _uuid("device", serial)
        return self.device_refs[serial]

    def device(self, serial: str, model_version: int | None) -> dict[str, str]:
        """The device reference; its display names the model version only where a model
        made the observation (``model_version`` 0 or None: the heart rate comes from the
        QRS detector, a data gap from the store)."""
        key = (serial, model_version or 0)
        got = self._devices.get(key)
        if got is None:
            got = self._devices[key] = {
                "reference": self.device_ref(serial),
                "display": (
                    f"{serial} (model version {model_version})" if model_version else serial
                ),
            }
        return got

    def model_extension(self, model_version: int) -> list[dict[str, Any]]:
        got = self._models.get(model_version)
        if got is None:
            got = self._models[model_version] = [{"url": EXT_MODEL, "valueInteger": model_version}]
        return got

    def identifier(self, event: StoredEvent) -> dict[str, Any]:
        assert event.utc is not None
        value = f"{event.serial}/{event.epoch}/{event.seq}"
        return _identifier(event.model_version or 0, self.iso(event.utc), value, event.type)

    def summary(self, e: StoredEvent, fast: bool) -> None:
        """The Observation of a heart-rate or activity summary: a dict, or with ``fast``
        the same entry as JSON text from its template (the tests compare the two)."""
        f = e.fields
        assert f is not None and e.utc is not None
        version = e.model_version or 0
        hr = e.type == EventKind.HR_SUMMARY
        start = self.iso(e.utc - (f["interval_s"] if hr else ACTIVITY_SUMMARY_S))
        end = self.iso(e.utc)
        value = f"{e.serial}/{e.epoch}/{e.seq}"
        ident = _uuid("obs", HR_CODE["code"] if hr else ACTIVITY_CODES[0]["code"], value, start)
        device = self.device(e.serial, None if hr else version)
        if not fast:
            p: dict[str, Any] = {
                "url": "urn:uuid:" + ident,
                "id": ident,
                "version": version,
                "subject": self.subject,
                "device": device,
                "time": end,
                "value": value,
                "start": start,
                "end": end,
            }
            if hr:
                p.update(min_bpm=f["min_bpm"], mean_bpm=f["mean_bpm"], max_bpm=f["max_bpm"])
                self.entries.append(_hr_entry(p))
            else:
                p.update(zip(ACTIVITY_NAMES, f["minutes"], strict=True))
                p["total"] = sum(f["minutes"])
                self.entries.append(_activity_entry(p))
            return
        template = self._templates.get(e.type)
        if template is None:
            build = _hr_entry if hr else _activity_entry
            names = _SUMMARY_KEYS + (
                ("min_bpm", "mean_bpm", "max_bpm") if hr else (*ACTIVITY_NAMES, "total")
            )
            template = self._templates[e.type] = _Template(build(_marked(names)))
        shared = self._json  # JSON of the subject, devices and serials the builder keeps
        device_text = shared.get(id(device))
        if device_text is None:
            device_text = shared[id(device)] = _json(device)
            shared[id(self.subject)] = _json(self.subject)
        serial_ok = self._plain.get(e.serial)
        if serial_ok is None:
            serial_ok = self._plain[e.serial] = _json(e.serial) == f'"{e.serial}"'
        end_text = f'"{end}"'
        text = {
            "url": f'"urn:uuid:{ident}"',
            "id": f'"{ident}"',
            "version": str(version),
            "subject": shared[id(self.subject)],
            "device": device_text,
            "time": end_text,
            "value": f'"{value}"' if serial_ok else _json(value),
            "start": f'"{start}"',
            "end": end_text,
        }
        if hr:
            text["min_bpm"] = str(f["min_bpm"])
            text["mean_bpm"] = str(f["mean_bpm"])
            text["max_bpm"] = str(f["max_bpm"])
        else:
            minutes = f["minutes"]
            text.update(zip(ACTIVITY_NAMES, map(str, minutes), strict=True))
            text["total"] = str(sum(minutes))
        self.entries.append((e.type, template.render(text)))

    def add(self, full_url: str, resource: dict[str, Any]) -> None:
        self.entries.append({"fullUrl": full_url, "resource": resource})

    def observation(
        self,
        events: list[StoredEvent],
        code: dict[str, Any],
        category: list[dict[str, Any]] | None,
        serial: str,
        model_version: int | None,
        **body: Any,
    ) -> None:
        """``model_version``: the model that produced it; 0 or None where none did: then
        the Observation has no model-version extension and the device display no version."""
        when = body.get("effectivePeriod", {}).get("start") or body.get("effectiveDateTime", "")
        ident = _uuid(
            "obs",
            code["coding"][0]["code"],
            *(f"{e.serial}/{e.epoch}/{e.seq}" for e in events),
            when,
        )
        resource: dict[str, Any] = {"resourceType": "Observation", "id": ident}
        if model_version:
            resource["extension"] = self.model_extension(model_version)
        resource["status"] = body.pop("status", "final")
        if category:
            resource["category"] = category
        resource["code"] = code
        resource["subject"] = self.subject
        resource["device"] = self.device(serial, model_version)
        if events:
            resource["identifier"] = [self.identifier(e) for e in events]
        resource.update(body)
        self.add("urn:uuid:" + ident, resource)


def _concept(codings: list[dict[str, str]], text: str) -> dict[str, Any]:
    return {"coding": codings, "text": text}


ECG_CATEGORY = _category("procedure", "exam")
VITAL_CATEGORY = _category("vital-signs")
FALL_CATEGORY = _category("exam")
ACTIVITY_CATEGORY = _category("activity")
AF_EPISODE_CODE = _concept(ECG_INTERPRETATION, "ECG interpretation: AF episode")
ECG_RECORDING_CODE = _concept(ECG_INTERPRETATION, "ECG interpretation: on-demand recording")
HR_CONCEPT = _concept(HR_CODES, "Heart rate")
AF_BURDEN_CONCEPT = _concept(AF_BURDEN_CODES, "AF burden")
FALL_CONCEPT = _concept(FALL_CODES, "Fall detected by the wearable")
ACTIVITY_CONCEPT = _concept(ACTIVITY_CODES, "Activity minutes")
GAP_CONCEPT = _concept(GAP_CODES, "No data from the wearable")
_CLASSIFICATION = {"coding": [_coding(PHR_ECG, "classification", "Classification")]}


def _rhythm(codings: list[dict[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """valueCodeableConcept (US Core pattern) and the PHR IG's classification component."""
    value = {"coding": codings, "text": codings[0]["display"]}
    return value, {"code": _CLASSIFICATION, "valueCodeableConcept": value}


def _af_burden_days(data: ExportData, b: _Builder, events: Iterable[StoredEvent]) -> None:
    """One AF burden Observation per local day with analysable rhythm time."""
    versions: dict[date, int] = {}
    summaries = [e for e in events if e.type == EventKind.RHYTHM_SUMMARY and e.utc is not None]
    tz = data.tz
    for e in summaries:  # the model version of each local day's last summary
        assert e.utc is not None
        versions[derived.local_day(e.utc, tz)] = e.model_version or 0
    serial = data.devices[0].serial if data.devices else summaries[0].serial if summaries else ""
    for day in derived.af_burden_per_day(summaries, tz):
        burden = day.burden
        if burden is None:
            continue
        start = max(datetime.combine(day.day, day_time(0), tz).timestamp(), data.start_utc)
        next_day = day.day + timedelta(days=1)
        end = min(datetime.combine(next_day, day_time(0), tz).timestamp(), data.end_utc)
        version = versions.get(day.day, 0)
        b.observation(
            [],
            AF_BURDEN_CONCEPT,
            VITAL_CATEGORY,
            serial,
            version,
            effectivePeriod={"start": b.iso(start), "end": b.iso(end)},
            valueQuantity=_quantity(round(100 * burden, 2), "%"),
            component=[
                _component("af_burden", "analysable_s", round(day.analysable_s)),
                _component("af_burden", "af_s", round(day.af_s)),
            ],
        )


def build_bundle(data: ExportData) -> dict[str, Any]:
    """The Bundle as a JSON-ready dict (checked by ``write_fhir``). Parts of it are
    shared between resources: copy an entry before changing it in place."""
    shell, entries = _build(data, fast=False)
    return {**shell, "entry": entries}


def _build(data: ExportData, fast: bool) -> tuple[dict[str, Any], list[Any]]:
    """The Bundle without its entries, and the entries: dicts, or with ``fast`` the
    heart-rate and activity summaries as (event type, JSON text) from ``_Template``."""
    b = _Builder(data)
    iso = b.iso
    b.add(
        b.patient_ref,
        {
            "resourceType": "Patient",
            "id": b.patient_ref.split(":")[-1],
            "identifier": [{"system": PSEUDONYM_SYSTEM, "value": data.patient_label}],
            "active": True,
        },
    )
    for device in data.devices:
        versions = [{"type": {"text": "firmware"}, "value": device.firmware or "unknown"}]
        for task, version in (
            ("afib model", device.afib_version),
            ("fall model", device.fall_version),
            ("activity model", device.activity_version),
        ):
            versions.append(
                {
                    "type": {"text": task},
                    "value": str(version) if version is not None else "unknown",
                }
            )
        b.add(
            b.device_refs[device.serial],
            {
                "resourceType": "Device",
                "id": b.device_refs[device.serial].split(":")[-1],
                "identifier": [{"system": SERIAL_SYSTEM, "value": device.serial}],
                "serialNumber": device.serial,
                "deviceName": [{"name": "WearSense patch", "type": "model-name"}],
                "version": versions,
                "patient": {"reference": b.patient_ref},
            },
        )
    events = data.events
    streams = derived.device_streams(events)  # walked by the episodes and the falls
    af_events = [e for e in events if e.type in (EventKind.AF_START, EventKind.AF_END)]
    by_key = {e.key: e for e in af_events}
    af_value, af_component = _rhythm(ATRIAL_FIBRILLATION)
    # all events: a reset, a silence or the next onset closes an episode without an end
    for episode in derived.af_episodes(events, end_utc=data.end_utc, streams=streams):
        parts: list[StoredEvent] = []
        comps: list[dict[str, Any]] = [af_component]
        if episode.start_key is not None:
            start = by_key[episode.start_key]
            parts.append(start)
            comps += _components(EventKind.AF_START, start.fields or {})
        period = {"start": iso(episode.start_utc)}
        if episode.end_key is not None:
            end = by_key[episode.end_key]
            parts.append(end)
            comps += _components(EventKind.AF_END, end.fields or {})
        if episode.end_utc is not None:  # an end the store inferred has no end event
            period["end"] = iso(episode.end_utc)
        extra: dict[str, Any] = {}
        if episode.inferred_end:  # how the store closed it, since the device did not
            extra["note"] = [{"text": f"AF episode {episode.status} (no AF end event)"}]
        b.observation(
            parts,
            AF_EPISODE_CODE,
            ECG_CATEGORY,
            episode.serial,
            episode.model_version,
            effectivePeriod=period,
            valueCodeableConcept=af_value,
            component=comps,
            **extra,
        )
    fall_events: list[StoredEvent] = []
    for e in events:
        kind = e.type
        if kind == EventKind.HR_SUMMARY or kind == EventKind.ACTIVITY_SUMMARY:
            b.summary(e, fast)
        elif kind == EventKind.ECG_RECORDING:
            f = e.fields
            assert f is not None and e.utc is not None
            value, classification = _rhythm(rhythm_value(f["rhythm_class"], f["hr_bpm"]))
            b.observation(
                [e],
                ECG_RECORDING_CODE,
                ECG_CATEGORY,
                e.serial,
                e.model_version or 0,
                effectivePeriod={"start": iso(e.utc - f["duration_s"]), "end": iso(e.utc)},
                valueCodeableConcept=value,
                component=[classification, *_components(kind, f)],
            )
        elif kind in (EventKind.FALL, EventKind.FALL_CANCELLED):
            fall_events.append(e)
    fall_keys = {e.key: e for e in fall_events}
    for fall in derived.falls(events, end_utc=data.end_utc, streams=streams):
        r = fall_keys[fall.key]
        assert r.utc is not None
        parts = [r]
        comps = _components(EventKind.FALL, r.fields or {})
        if fall.cancel_key is not None:
            cancel = fall_keys[fall.cancel_key]
            parts.append(cancel)
            comps += _components(EventKind.FALL_CANCELLED, cancel.fields or {})
        b.observation(
            parts,
            FALL_CONCEPT,
            FALL_CATEGORY,
            r.serial,
            r.model_version or 0,
            status="cancelled" if fall.cancelled else "final",
            effectiveDateTime=iso(r.utc),
            valueQuantity=_quantity(1, "count"),
            component=comps,
        )
    _af_burden_days(data, b, events)
    serial = data.devices[0].serial if data.devices else events[0].serial
    for gap in derived.data_gaps(events, start_utc=data.start_utc, end_utc=data.end_utc):
        b.observation(
            [],
            GAP_CONCEPT,
            None,
            serial,
            None,  # derived by the store, not a model
            effectivePeriod={"start": iso(gap.start_utc), "end": iso(gap.end_utc)},
            valueQuantity=_quantity(round(gap.hours, 2), "h"),
            note=[{"text": gap.message}],
        )
    _strip_observations(data, b)
    shell = {
        "resourceType": "Bundle",
        "id": _uuid("bundle", data.patient_label, data.start_utc, data.end_utc),
        "type": "collection",
        "timestamp": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    return shell, b.entries


STRIP_CONCEPT = _concept(ECG_WAVEFORM, "ECG strip (single lead)")


def sampled_data(strip: StoredStrip) -> dict[str, Any]:
    """The strip's samples as FHIR SampledData in the device's units: ``data`` holds the
    ADC counts as they are, ``factor`` = 1 / adc_gain mV per count and ``origin`` =
    -adc_zero / adc_gain mV, so that origin + factor x count is the potential in mV
    (FHIR: value = origin + factor x data); ``period`` in ms."""
    img = strip.image
    return {
        "origin": {
            "value": -img.adc_zero / img.adc_gain,
            "unit": "mV",
            "system": UCUM,
            "code": "mV",
        },
        "period": 1000.0 / img.fs_hz,
        "factor": 1.0 / img.adc_gain,
        "dimensions": 1,
        "data": " ".join(map(str, img.samples.tolist())),
    }


def _strip_observations(data: ExportData, b: _Builder) -> None:
    """One Observation per stored strip, coded MDC 131329 (``identifier``: the strip's
    key; ``note``: the clinicians' reviews, newest first). The interpretation
    Observation of the event the strip documents (the AF episode, the on-demand
    recording) names the strip in ``derivedFrom``: the verdict was made from it."""
    if not data.strips:
        return
    by_event: dict[str, dict[str, Any]] = {}
    for entry in b.entries:
        if isinstance(entry, tuple):
            continue
        res = entry["resource"]
        for ident in res.get("identifier", ()):
            if ident.get("system") == EVENT_SYSTEM:
                by_event.setdefault(ident["value"], entry)
    for strip in data.strips:
        img = strip.image
        assert strip.start_utc is not None
        key = f"{strip.serial}/{img.epoch}/{img.strip_id}"
        ident = _uuid("strip", key, strip.start_utc)
        url = "urn:uuid:" + ident
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": ident,
            "identifier": [{"system": STRIP_SYSTEM, "value": key}],
            "status": "final",
            "category": ECG_CATEGORY,
            "code": STRIP_CONCEPT,
            "subject": b.subject,
            "device": b.device(strip.serial, None),
            "effectivePeriod": {
                "start": b.iso(strip.start_utc),
                "end": b.iso(strip.start_utc + strip.duration_s),
            },
            "valueSampledData": sampled_data(strip),
        }
        notes = [
            {
                "authorString": r.reviewer,
                "time": b.iso(r.reviewed_utc),
                "text": f"review: {r.verdict.value}",
            }
            for r in reversed(strip.reviews)
        ]
        if notes:
            resource["note"] = notes
        interpretation = by_event.get(f"{strip.serial}/{img.epoch}/{img.event_seq}")
        if interpretation is not None:
            target = interpretation["resource"]
            target["derivedFrom"] = [*target.get("derivedFrom", ()), {"reference": url}]
        b.add(url, resource)


def _shape(entry: dict[str, Any] | tuple[str, str]) -> tuple[Any, ...]:
    """What tells two entries built by different code paths apart."""
    if isinstance(entry, tuple):  # (kind, JSON text) of a summary written from a template
        return ("template", entry[0])
    res = entry.get("resource", {})
    code = res.get("code", {}).get("coding", [{}])
    return (
        res.get("resourceType"),
        code[0].get("code") if code else None,
        res.get("status"),
        tuple(res),
        tuple(res.get("effectivePeriod", ())),
        len(res.get("identifier", ())),
        len(res.get("component", ())),
        str(res.get("valueCodeableConcept", {}).get("coding", [{}])[0].get("code")),
    )


def sample(entries: list[Any], per_shape: int = 2, stride: int = 5000) -> list[int]:
    """Indices of the entries ``write_fhir`` validates: the first and last ``per_shape``
    of every shape of entry, and every ``stride``-th entry."""
    seen: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, entry in enumerate(entries):
        seen[_shape(entry)].append(i)
    chosen = set(range(0, len(entries), stride))
    for indices in seen.values():
        chosen.update(indices[:per_shape])
        chosen.update(indices[-per_shape:])
    return sorted(chosen)


def validate(
    bundle: dict[str, Any], show_progress: bool = False, indices: list[int] | None = None
) -> None:
    """Checks the Bundle with fhir.resources' R4B models, entry by entry (only those at
    ``indices`` when given) and then the Bundle itself; ExportError when invalid."""
    from fhir.resources.R4B.bundle import Bundle, BundleEntry
    from pydantic import ValidationError

    entries = bundle.get("entry", [])
    chosen = list(range(len(entries))) if indices is None else indices
    try:
        for i in progress(chosen, "validating FHIR", show_progress):
            try:
                BundleEntry.model_validate(entries[i])
            except ValidationError as exc:
                raise ExportError(f"FHIR entry {i} does not validate: {exc}") from exc
        Bundle.model_validate({**bundle, "entry": entries[:1]})
    except ValidationError as exc:
        raise ExportError(f"the FHIR Bundle does not validate: {exc}") from exc


def write_fhir(data: ExportData, destination: str | Path, show_progress: bool = False) -> Path:
    """Builds the Bundle, validates a sample of it that holds every shape of entry
    (``sample``) and writes it as compact JSON, atomically."""
    shell, entries = _build(data, fast=True)
    chosen = sample(entries)
    checked = {i: _as_dict(entries[i]) for i in chosen}
    validate({**shell, "entry": [checked[i] for i in chosen]}, show_progress)
    dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    head = dump({**shell, "entry": []})[:-2]  # ... "entry":[
    parts = [head]
    for i, entry in enumerate(entries):
        if i:
            parts.append(",")
        parts.append(entry[1] if isinstance(entry, tuple) else dump(entry))
    parts.append("]}\n")
    with atomic_path(destination) as tmp, open(tmp, "w", encoding="utf-8") as out:
        out.writelines(parts)
    return Path(destination)


def _as_dict(entry: dict[str, Any] | tuple[str, str]) -> dict[str, Any]:
    return json.loads(entry[1]) if isinstance(entry, tuple) else entry


def read_bundle(text: str) -> list[EventRecord]:
    """The events a WearSense Bundle carries, rebuilt from its Observations (validated
    first). ExportError when the text is not a valid FHIR R4 Bundle."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        bundle = Bundle.model_validate_json(text)
    except ValidationError as exc:
        raise ExportError(f"not a valid FHIR R4 Bundle: {exc}") from exc
    out: list[EventRecord] = []
    for entry in bundle.entry or []:
        res: Any = entry.resource
        if res is None or res.__resource_type__ != "Observation" or not res.identifier:
            continue
        fields: dict[str, dict[str, Any]] = defaultdict(dict)
        minutes: dict[str, int] = {}
        for comp in res.component or []:
            coding = comp.code.coding[0]
            if coding.system != WEARSENSE:
                continue  # a standard code (the ECG classification): not a payload field
            value = comp.valueQuantity.value
            type_name, _, name = coding.code.partition(".")
            if name.startswith("minutes."):
                minutes[name.split(".", 1)[1]] = int(value)
            else:
                fields[type_name][name] = int(value)
        if any(c.system == LOINC and c.code == HR_CODE["code"] for c in res.code.coding):
            period = res.effectivePeriod
            fields[EventKind.HR_SUMMARY]["interval_s"] = int(
                period.end.timestamp() - period.start.timestamp()
            )
            fields[EventKind.HR_SUMMARY]["mean_bpm"] = int(res.valueQuantity.value)
        for ident in res.identifier:
            if ident.system != EVENT_SYSTEM:
                continue  # a strip's key: the waveform carries no event
            serial, epoch, seq = ident.value.rsplit("/", 2)
            ext = {x.url: x for x in ident.extension or []}
            moment = ext[EXT_TIME].valueDateTime
            type_name = ident.type.text
            got = dict(fields.get(type_name, {}))
            if type_name == EventKind.ACTIVITY_SUMMARY:
                got = {"minutes": [minutes[n] for n in ACTIVITY_NAMES]}
            out.append(
                EventRecord(
                    serial=serial,
                    epoch=int(epoch),
                    seq=int(seq),
                    type=type_name,
                    utc=float(moment.timestamp()),
                    model_version=int(ext[EXT_MODEL].valueInteger),
                    fields=got,
                )
            )
    return out
