#!/usr/bin/python3
"""Pictures of what a manager reads, for docs/: the example deployment's Assessment email and the
Teams card of its critical assessment timescales, as `casewatch preview` writes them on the
generator's data as of Monday 7 December 2026, rendered by headless Chromium. The email is its
own HTML part; the card is drawn from its JSON in Teams' manner (an approximation: Teams itself
cannot run here). Usage: scripts/message-screenshots.py BUILD_DIR OUT_DIR"""
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
AS_OF = "2026-12-07"


def card_html(card):
    """The Adaptive Card's TextBlocks and Containers as Teams lays them out, roughly."""
    colours = {"Attention": "#c4314b", "Good": "#237b4b", "Warning": "#835b00", "Default": "#242424"}

    def block(element):
        if element["type"] == "TextBlock":
            style = "margin:%s 0 0 0;color:%s;%s%s" % (
                "0" if element.get("spacing") == "None" else "8px", colours.get(element.get("color", "Default"), "#242424"),
                "font-weight:600;" if element.get("weight") == "Bolder" else "",
                "font-size:18px;" if element.get("size") == "Medium" else "")
            if element.get("isSubtle"):
                style += "opacity:0.75;"
            return '<div style="%s">%s</div>' % (style, html.escape(element["text"]))
        inner = "".join(block(e) for e in element["items"])
        return '<div style="border-top:1px solid #e0e0e0;margin-top:8px;padding-top:4px">%s</div>' % inner

    content = card["attachments"][0]["content"]
    body = "".join(block(e) for e in content["body"])
    actions = "".join('<span style="display:inline-block;margin-top:12px;padding:6px 12px;border:1px solid #c7c7c7;'
                      'border-radius:4px">%s</span>' % html.escape(a["title"]) for a in content.get("actions", []))
    return ('<!DOCTYPE html><html lang="en-GB"><body style="background:#f5f5f5;font-family:Segoe UI,Arial,sans-serif;'
            'font-size:14px;padding:16px"><div style="background:#fff;border-radius:6px;padding:16px;max-width:520px;'
            'box-shadow:0 1px 3px rgba(0,0,0,.2)">%s%s</div></body></html>' % (body, actions))


def shoot(chromium, page, png, width, height):
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=%d,%d" % (width, height), "--screenshot=" + png, "file://" + page],
                   check=True, capture_output=True, timeout=120)


def main():
    build, out = sys.argv[1], sys.argv[2]
    chromium = shutil.which("chromium")
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="casewatch-shots-")
    try:
        example = os.path.join(work, "example")
        shutil.copytree(os.path.join(REPO, "examples", "improvement-plan"), example,
                        ignore=shutil.ignore_patterns("data", "state"))
        subprocess.run([os.path.join(build, "casewatch-gen"), "--profile", "la", "--as-of", AS_OF, "--seed", "1",
                        "--out", os.path.join(example, "data")], check=True, capture_output=True)
        messages = os.path.join(work, "messages")
        subprocess.run([os.path.join(build, "casewatch"), "preview", "-c", os.path.join(example, "casewatch.toml"),
                        "--at", AS_OF, "--out", messages], capture_output=True)
        shoot(chromium, os.path.join(messages, "team-email-assessment.html"), os.path.join(out, "email-1366.png"), 1366, 1800)
        shoot(chromium, os.path.join(messages, "team-email-assessment.html"), os.path.join(out, "email-390.png"), 390, 1800)
        with open(os.path.join(messages, "teams-critical-assessment-authorisation.teams.json"), encoding="utf-8") as f:
            card = json.load(f)
        page = os.path.join(work, "card.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(card_html(card))
        shoot(chromium, page, os.path.join(out, "teams-card.png"), 600, 1400)
        for name in ("team-email-assessment.txt",):
            shutil.copy(os.path.join(messages, name), os.path.join(out, name))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
