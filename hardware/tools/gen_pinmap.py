#!/usr/bin/env python3
"""Generates the firmware pin-map header and the pin-map docs from hardware/pinmap.json.

Standard library only. Validates the map (pin names, duplicates, reserved pins, EXTI lines)
so a bad edit fails the build instead of the board.
"""
import argparse
import json
import re
import sys

RESERVED = {"PA13": "SWDIO", "PA14": "SWCLK", "PH0": "HSE", "PH1": "HSE",
            "PC14": "LSE", "PC15": "LSE"}
MODES = {"input": "Input", "output": "Output", "af": "AltFunction", "analog": "Analog"}
PIN_RE = re.compile(r"^P([A-I])(\d{1,2})$")
SIGNAL_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def fail(msg):
    sys.exit("pinmap.json: " + msg)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        fail(f"cannot read: {e}")
    if not isinstance(doc.get("pins"), list) or not doc["pins"]:
        fail("'pins' must be a non-empty array")
    seen_signals, seen_pins, exti = {}, {}, {}
    pins = []
    for i, p in enumerate(doc["pins"]):
        where = f"pins[{i}]"
        for key in ("signal", "pin", "mode"):
            if not isinstance(p.get(key), str):
                fail(f"{where}.{key} must be a string")
        signal, pin, mode = p["signal"], p["pin"], p["mode"]
        if not SIGNAL_RE.match(signal):
            fail(f"{where}.signal '{signal}' must look like 'block.function'")
        m = PIN_RE.match(pin)
        if not m or int(m.group(2)) > 15:
            fail(f"{where}.pin '{pin}' is not a pin name like PA8 (port A-I, pin 0-15)")
        if mode not in MODES:
            fail(f"{where}.mode '{mode}' must be one of {sorted(MODES)}")
        af = p.get("af", 0)
        if mode == "af" and not (isinstance(af, int) and 0 <= af <= 15):
            fail(f"{where}.af must be an integer 0-15 for an alternate-function pin")
        if pin in RESERVED:
            fail(f"{where}: {pin} is reserved for {RESERVED[pin]}")
        if signal in seen_signals:
            fail(f"{where}: signal '{signal}' also at pins[{seen_signals[signal]}]")
        if pin in seen_pins:
            fail(f"{where}: pin {pin} also used by '{seen_pins[pin]}'")
        number = int(m.group(2))
        if mode == "input":
            # One EXTI line per pin number: two interrupt inputs may not share a number.
            if number in exti:
                fail(f"{where}: input {pin} shares EXTI line {number} with '{exti[number]}'")
            exti[number] = signal
        seen_signals[signal] = i
        seen_pins[pin] = signal
        pins.append({"signal": signal, "port": m.group(1), "pin": number, "mode": mode,
                     "af": af if mode == "af" else 0, "note": p.get("note", "")})
    return doc, pins


def constant_name(signal):
    return "k" + "".join(part.capitalize() for part in re.split(r"[._]", signal))


def header(doc, pins):
    rows = "\n".join(
        f'    {{"{p["signal"]}", \'{p["port"]}\', {p["pin"]}, PinMode::{MODES[p["mode"]]}, {p["af"]}}},'
        for p in pins)
    named = "\n".join(f"inline constexpr const PinAssignment& {constant_name(p['signal'])} = kPins[{i}];"
                      for i, p in enumerate(pins))
    return f"""// Generated from hardware/pinmap.json by hardware/tools/gen_pinmap.py: do not edit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace polscan::pinmap {{

enum class PinMode : std::uint8_t {{ Input, Output, AltFunction, Analog }};

struct PinAssignment {{
  std::string_view signal;  // e.g. "polarizer.step"
  char port;                // 'A'..'I'
  std::uint8_t pin;         // 0..15
  PinMode mode;
  std::uint8_t af;          // alternate function number (AltFunction only)
}};

inline constexpr std::string_view kMcu = "{doc.get("mcu", "")}";

inline constexpr PinAssignment kPins[] = {{
{rows}
}};

inline constexpr std::size_t kPinCount = sizeof(kPins) / sizeof(kPins[0]);

{named}

constexpr const PinAssignment* findPin(std::string_view signal) {{
  for (const PinAssignment& p : kPins) {{
    if (p.signal == signal) return &p;
  }}
  return nullptr;
}}

}}  // namespace polscan::pinmap
"""


def markdown(doc, pins):
    lines = ["# Pin map", "",
             f"Generated from `hardware/pinmap.json` by `hardware/tools/gen_pinmap.py`: do not edit.",
             "", f"MCU: {doc.get('mcu', '')}. Board: {doc.get('board', '')}.", "",
             doc.get("notes", ""), "",
             "| Signal | Pin | Mode | AF | Note |", "|---|---|---|---|---|"]
    for p in pins:
        af = str(p["af"]) if p["mode"] == "af" else ""
        lines.append(f"| `{p['signal']}` | P{p['port']}{p['pin']} | {p['mode']} | {af} | {p['note']} |")
    return "\n".join(lines) + "\n"


def write_if_changed(path, text):
    # Leaves an unchanged file's timestamp alone so dependents do not rebuild.
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", required=True)
    ap.add_argument("--header")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    doc, pins = load(args.json)
    if args.header:
        write_if_changed(args.header, header(doc, pins))
    if args.markdown:
        write_if_changed(args.markdown, markdown(doc, pins))


if __name__ == "__main__":
    main()
