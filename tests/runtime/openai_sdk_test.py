#!/usr/bin/env python3
"""The official `openai` Python SDK against `glm-agent serve`: a chat, a streamed chat, a tool call round trip
(plain and streamed), a json_schema answer (raw and through the SDK's pydantic `parse`), models and errors.

Run by tests/runtime/server_http_test.cpp (ServerHttp.OfficialOpenAISdk) against the demo model (model/demo);
by hand: .venv/bin/python tests/runtime/openai_sdk_test.py --base-url http://127.0.0.1:8080/v1
Prints one JSON object; exit 0 when every check passed, 1 otherwise (the failing check is named).
"""
import argparse
import json
import sys
import traceback

import openai
from openai import OpenAI
from pydantic import BaseModel, Field

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 12}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
DIGIT_SCHEMA = {
    "type": "object",
    "properties": {"digit": {"type": "integer", "minimum": 0, "maximum": 9}},
    "required": ["digit"],
    "additionalProperties": False,
}


class Digit(BaseModel):
    digit: int = Field(ge=0, le=9)


def check_usage(u):
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens, u
    assert u.prompt_tokens > 0 and u.completion_tokens > 0, u
    assert isinstance(u.prompt_tokens_details.cached_tokens, int), u


def chat(client, model):
    r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say hi."}],
                                       max_tokens=16, seed=1, temperature=0.7)
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-"), r
    assert len(r.choices) == 1 and r.choices[0].index == 0
    m = r.choices[0].message
    assert m.role == "assistant" and isinstance(m.content, str) and not m.tool_calls, m
    assert r.choices[0].finish_reason in ("stop", "length"), r.choices[0].finish_reason
    check_usage(r.usage)


def streamed_chat(client, model):
    chunks = list(client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Count."}],
                                                 max_tokens=16, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant", chunks[0]
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes in (["stop"], ["length"]), finishes
    assert not chunks[-1].choices and chunks[-1].usage is not None, chunks[-1]
    check_usage(chunks[-1].usage)


def tool_round_trip(client, model):
    messages = [{"role": "system", "content": "Use the tools."}, {"role": "user", "content": "Weather in Oslo?"}]
    r = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER], tool_choice="required",
                                       parallel_tool_calls=False)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    assert choice.message.content is None, choice.message
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_") and call.function.name == "get_weather", call
    args = json.loads(call.function.arguments)
    assert isinstance(args["city"], str) and len(args["city"]) <= 12, args
    messages.append(choice.message)  # the SDK's own message object goes back as is
    messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temp_c": 21})})
    r2 = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER], tool_choice="none",
                                        max_tokens=16)
    assert r2.choices[0].message.role == "assistant" and not r2.choices[0].message.tool_calls, r2
    check_usage(r2.usage)
    assert r2.usage.prompt_tokens_details.cached_tokens > 0, r2.usage  # the first turn's prefix was reused


def streamed_tool_call(client, model):
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather?"}],
                                            tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "get_weather"}},
                                            stream=True)
    calls, finish = {}, None
    for c in stream:
        ch = c.choices[0]
        finish = ch.finish_reason or finish
        for tc in ch.delta.tool_calls or []:
            if tc.index not in calls:
                assert tc.id and tc.type == "function" and tc.function.name == "get_weather", tc
                calls[tc.index] = ""
            calls[tc.index] += tc.function.arguments or ""
    assert finish == "tool_calls", finish
    assert calls and all(isinstance(json.loads(a)["city"], str) for a in calls.values()), calls


def json_schema(client, model):
    r = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Pick a digit."}], max_tokens=128, seed=3,
        response_format={"type": "json_schema", "json_schema": {"name": "digit", "strict": True, "schema": DIGIT_SCHEMA}})
    d = json.loads(r.choices[0].message.content)
    assert 0 <= d["digit"] <= 9 and r.choices[0].finish_reason == "stop", r
    p = client.chat.completions.parse(model=model, messages=[{"role": "user", "content": "Pick a digit."}],
                                      max_tokens=128, seed=4, response_format=Digit)
    assert isinstance(p.choices[0].message.parsed, Digit), p


def models_and_errors(client, model):
    ids = [m.id for m in client.models.list()]
    assert model in ids, ids
    try:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}], n=2)
        raise AssertionError("n=2 was accepted")
    except openai.BadRequestError as e:
        assert e.status_code == 400 and e.body["param"] == "n", e.body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--api-key", default="none")
    ap.add_argument("--model", default="tiny")
    a = ap.parse_args()
    client = OpenAI(base_url=a.base_url, api_key=a.api_key, max_retries=0, timeout=60)
    results = {}
    for check in (chat, streamed_chat, tool_round_trip, streamed_tool_call, json_schema, models_and_errors):
        try:
            check(client, a.model)
            results[check.__name__] = "ok"
        except Exception as e:  # noqa: BLE001 - report every failing check by name
            results[check.__name__] = f"{type(e).__name__}: {e}"
            traceback.print_exc(file=sys.stderr)
    ok = all(v == "ok" for v in results.values())
    print(json.dumps({"openai": openai.__version__, "ok": ok, "checks": results}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
