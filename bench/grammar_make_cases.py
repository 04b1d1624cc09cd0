#!/usr/bin/env python3
"""Builds bench/grammar_cases.jsonl for `glm-agent grammar bench` and scripts/grammar_peers.py.

One line per schema: {"id", "schema", "tests": [{"data", "valid"}]}. Sources: hand-written tool-call
schemas (realistic arguments, longer strings) and the JSON-Schema-Test-Suite draft 2020-12 (required files
and optional/format). Usage: python3 bench/grammar_make_cases.py [SUITE_DIR] > bench/grammar_cases.jsonl
"""
import json
import os
import sys

TOOLS = [
    ({"type": "object", "properties": {"location": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
      "required": ["location"], "additionalProperties": False},
     [{"location": "Paris, France", "unit": "celsius"}, {"location": "San Francisco, CA"}]),
    ({"type": "object", "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 200},
                                       "top_k": {"type": "integer", "minimum": 1, "maximum": 50}},
      "required": ["query"], "additionalProperties": False},
     [{"query": "how do transformers use rotary position embeddings?", "top_k": 5},
      {"query": "latest results of the 2024 Olympic games in Paris"}]),
    ({"type": "object", "properties": {
        "path": {"type": "string", "pattern": "^[A-Za-z0-9_./-]+$"},
        "content": {"type": "string"},
        "mode": {"type": "string", "enum": ["overwrite", "append"]}},
      "required": ["path", "content"], "additionalProperties": False},
     [{"path": "src/main.cpp", "content": "#include <cstdio>\nint main() {\n  std::puts(\"hello, world\");\n  return 0;\n}\n", "mode": "overwrite"},
      {"path": "notes/todo.md", "content": "- buy milk\n- write the grammar engine\n- \u00e9t\u00e9 \u4e2d\u6587 text"}]),
    ({"type": "object", "properties": {
        "expression": {"type": "string", "pattern": "^[0-9+*/(). -]+$", "maxLength": 100}},
      "required": ["expression"], "additionalProperties": False},
     [{"expression": "(12.5 + 7) * 3 / 2"}, {"expression": "2 * (3 + 4) - 5"}]),
    ({"type": "object", "properties": {
        "to": {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1, "maxItems": 10},
        "subject": {"type": "string", "maxLength": 120},
        "body": {"type": "string"},
        "priority": {"type": "string", "enum": ["low", "normal", "high"]}},
      "required": ["to", "subject", "body"], "additionalProperties": False},
     [{"to": ["alice@example.com", "bob.smith@mail.example.org"], "subject": "Quarterly report",
       "body": "Hi both,\n\nplease find the numbers for Q3 attached. Revenue grew 12% and costs fell.\n\nBest,\nCarol",
       "priority": "high"}]),
    ({"type": "object", "properties": {
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "title": {"type": "string"},
        "attendees": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "optional": {"type": "boolean"}}, "required": ["name"],
            "additionalProperties": False}}},
      "required": ["start", "end", "title"], "additionalProperties": False},
     [{"start": "2025-03-14T09:30:00Z", "end": "2025-03-14T10:00:00+01:00", "title": "Design review",
       "attendees": [{"name": "Dana"}, {"name": "Eli", "optional": True}]}]),
    ({"type": "object", "properties": {
        "url": {"type": "string", "format": "uri"},
        "method": {"enum": ["GET", "POST", "PUT", "DELETE"]},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "body": {"type": ["string", "null"]},
        "timeout_s": {"type": "number", "minimum": 0, "exclusiveMaximum": 120}},
      "required": ["url", "method"], "additionalProperties": False},
     [{"url": "https://api.example.com/v1/items?limit=10", "method": "GET",
       "headers": {"Accept": "application/json", "X-Trace": "abc123"}, "body": None, "timeout_s": 2.5},
      {"url": "http://localhost:8080/submit", "method": "POST", "body": "{\"a\": 1}"}]),
    ({"$defs": {"node": {"type": "object", "properties": {
        "value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
        "required": ["value"], "additionalProperties": False}},
      "$ref": "#/$defs/node"},
     [{"value": 1, "children": [{"value": 2}, {"value": 3, "children": [{"value": 4}]}]}]),
    ({"type": "object", "properties": {
        "id": {"type": "string", "format": "uuid"},
        "ip": {"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]},
        "host": {"type": "string", "format": "hostname"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 5}},
      "required": ["id"], "additionalProperties": False},
     [{"id": "123e4567-e89b-12d3-a456-426614174000", "ip": "192.168.0.1", "host": "db-01.internal.example.com",
       "tags": ["prod", "eu-west"]},
      {"id": "00000000-0000-4000-8000-000000000000", "ip": "2001:db8::8a2e:370:7334"}]),
    ({"type": "object", "properties": {
        "sql": {"type": "string"}, "params": {"type": "array", "items": {"type": ["string", "number", "boolean", "null"]}},
        "limit": {"type": "integer", "minimum": 1, "maximum": 10000}},
      "required": ["sql"]},
     [{"sql": "SELECT name, total FROM orders WHERE created_at > ? AND status = ? ORDER BY total DESC",
       "params": ["2024-01-01", "shipped"], "limit": 100}]),
    ({"type": "object", "properties": {
        "steps": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
            "tool": {"enum": ["search", "read_file", "write_file", "calculator"]},
            "why": {"type": "string", "maxLength": 300}}, "required": ["tool", "why"], "additionalProperties": False}}},
      "required": ["steps"], "additionalProperties": False},
     [{"steps": [{"tool": "search", "why": "find the relevant documentation about the API rate limits"},
                 {"tool": "read_file", "why": "open config.yaml to check the current limit"},
                 {"tool": "calculator", "why": "compute the new limit as 1.5 times the old one"}]}]),
    ({"type": "object", "properties": {"text": {"type": "string", "maxLength": 100000}}, "required": ["text"],
      "additionalProperties": False},
     [{"text": "A long answer that the model writes as a single string value. " * 20}]),
    ({"type": "object", "properties": {"country": {"enum": ["country_%03d" % i for i in range(500)]},
                                       "count": {"type": "integer"}},
      "required": ["country", "count"], "additionalProperties": False},
     [{"country": "country_123", "count": 42}, {"country": "country_499", "count": -7}]),
    ({}, [{"anything": [1, 2.5, "three", {"four": None}], "nested": {"deep": {"deeper": [True, False]}}}]),
]


def main():
    suite = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "shared", "data", "JSON-Schema-Test-Suite", "tests", "draft2020-12")
    out = sys.stdout
    for i, (schema, instances) in enumerate(TOOLS):
        out.write(json.dumps({"id": "tool-%02d" % i, "schema": schema,
                              "tests": [{"data": d, "valid": True} for d in instances]}, ensure_ascii=False) + "\n")
    files = []
    if os.path.isdir(suite):
        files = sorted(os.path.join(suite, f) for f in os.listdir(suite) if f.endswith(".json"))
        fmt = os.path.join(suite, "optional", "format")
        files += sorted(os.path.join(fmt, f) for f in os.listdir(fmt) if f.endswith(".json"))
    for path in files:
        with open(path, encoding="utf-8") as f:
            groups = json.load(f)
        for gi, g in enumerate(groups):
            out.write(json.dumps({"id": "%s#%d" % (os.path.relpath(path, suite), gi), "schema": g["schema"],
                                  "tests": [{"data": t["data"], "valid": t["valid"]} for t in g["tests"]]},
                                 ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
