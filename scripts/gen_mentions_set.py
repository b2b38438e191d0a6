#!/usr/bin/env python3
"""Writes tests/mentions/labelled.jsonl: messages with the brand and product mentions a person would
mark in them, against the catalog format of config/catalog.toml (ids: larkspur, larkspur-fiber,
larkspur-mobile, larkspur-hub, larkspur-cloud-drive, larkspur-office-voice, larkspur-shield, corvid,
corvid-fiber, corvid-5g, skylane, skylane-business).

Labels are what a reader means, not what the queries happen to do: hard cases the sample queries get
wrong stay labelled as a person would label them. A product mention implies its brand; the label
lists both. Each hand-written line also yields variants (case, a leading @reply, a trailing hashtag
or URL, another channel) that keep the labels true.

    python3 scripts/gen_mentions_set.py > tests/mentions/labelled.jsonl
"""
import json
import random

rng = random.Random(7)

L, LF, LM, LH, LC, LO, LS = ("larkspur", "larkspur-fiber", "larkspur-mobile", "larkspur-hub",
                             "larkspur-cloud-drive", "larkspur-office-voice", "larkspur-shield")
C, CF, C5 = "corvid", "corvid-fiber", "corvid-5g"
S, SB = "skylane", "skylane-business"

LINES = [
    # Own brand, plain.
    ("Larkspur support sorted my bill in five minutes", [L]),
    ("Why is Larkspur charging me a late fee when I paid on time?", [L]),
    ("been with larkspur for 8 years and never had a problem", [L]),
    ("LARKSPUR IS DOWN AGAIN", [L]),
    ("Larkspur's new app is much faster", [L]),
    ("Anyone else on Larkspur seeing slow speeds tonight?", [L]),
    ("Thinking of leaving Larkspur when my contract ends", [L]),
    ("@larkspurhelp can you check my order status please", [L]),
    ("@LarkspurHelp third day without internet", [L]),
    ("Shoutout to @larkspur for the quick fix", [L]),
    ("#larkspur outage map is all red", [L]),
    ("LSP engineers were out on our street all day", [L]),
    ("LSP network down in the north again", [L]),
    ("The Larkspur shop assistant was super helpful", [L]),
    ("Got a letter from Larkspur about a price rise", [L]),
    ("Larkspur customer service is a joke", [L]),
    ("Is the Larkspur app down for everyone?", [L]),
    ("My parents switched to Larkspur and love it", [L]),
    ("larkspur billing department, please call me back", [L]),
    ("Larkspur just emailed me a survey, here's my honest answer: meh", [L]),
    # Own brand, ambiguous: the flower.
    ("My larkspur are blooming beautifully this year", []),
    ("Planted larkspur seeds along the fence", []),
    ("Larkspur and foxgloves make a lovely cottage garden", []),
    ("Is larkspur toxic to dogs? Mine ate some leaves", []),
    ("Bought a bouquet of larkspur and peonies", []),
    ("Delphinium or larkspur for the back border?", []),
    ("The blue larkspur flowers in the park are stunning", []),
    ("Larkspur is an annual, sow it in autumn for spring blooms", []),
    ("Dried larkspur stems look great in a vase", []),
    ("Our wedding flowers were pink larkspur and roses", []),
    ("Larkspur grows wild on the hillside behind our house", []),
    ("Watching bees on the larkspur this morning", []),
    ("The Larkspur Ferry terminal is packed today", []),
    ("Hiking near Larkspur this weekend, any trail tips?", []),
    ("Lovely lunch in Larkspur town centre", []),
    # Lower-case "lsp" is not the brand (raw is case-sensitive), nor is it in a URL or e-mail.
    ("an lsp server crashed my editor again", []),
    ("docs at https://larkspur.example/help/fiber were no help", []),
    ("emailed complaints@larkspur.example twice, no answer", []),
    ("see www.larkspur.example for the outage map", []),
    # Products.
    ("Larkspur Fiber is rock solid, zero drops this month", [L, LF]),
    ("larkspur fiber install booked for Friday", [L, LF]),
    ("My Larkspur broadband keeps dropping every evening", [L, LF]),
    ("Fiber from Larkspur finally reached our village", [L, LF]),
    ("#larkspurfiber speeds are unreal", [L, LF]),
    ("Larkspur fiber speeds are fine but the price keeps going up", [L, LF]),
    ("Larkspur Mobile roaming doesn't work in Spain", [L, LM]),
    ("Just ported my number to Larkspur Mobile", [L, LM]),
    ("Larkspur sim arrived but no signal in my flat", [L, LM]),
    ("Does Larkspur do eSIM yet?", [L, LM]),
    ("Larkspur roaming charges are outrageous", [L, LM]),
    ("The Larkspur Hub keeps rebooting", [L, LH]),
    ("Larkspur hub light blinking orange, what now?", [L, LH]),
    ("How do I set up a guest network on the Larkspur Hub?", [L, LH]),
    ("Reset the hub and the router lights are still red, Larkspur please help", [L, LH]),
    ("Cloud Drive sync fails on shared folders", [L, LC]),
    ("Our Larkspur backup ran out of space overnight", [L, LC]),
    ("Restored a deleted folder from Cloud Drive in seconds", [L, LC]),
    ("#clouddrive is the best thing we bought this year", [L, LC]),
    ("Larkspur Office Voice call routing reset after the update", [L, LO]),
    ("Moved our team to Office Voice, setup was painless", [L, LO]),
    ("Larkspur VoIP went down for two hours", [L, LO]),
    ("Our Larkspur desk phones arrived today", [L, LO]),
    ("Larkspur Shield caught a phishing email for us", [L, LS]),
    ("Does Larkspur Shield support Mac endpoints?", [L, LS]),
    ("The shield firewall blocked our own VPN again", [L, LS]),
    # Product words alone, in other senses.
    ("The hub of our community is the village hall", []),
    ("Bought a USB hub for my laptop", []),
    ("Office politics are exhausting today", []),
    ("Left my voice notes at the office", []),
    ("Captain America's shield is my favourite prop", []),
    ("Fiber is important for a healthy diet", []),
    ("My mobile died during the meeting", []),
    ("Cloud computing exam tomorrow, wish me luck", []),
    ("The drive to the office took two hours", []),
    ("Backup singers were the best part of the concert", []),
    # Competitors.
    ("Corvid Telecom raised prices again", [C]),
    ("@corvidtel your engineer never showed up", [C]),
    ("#corvidtelecom worst customer service ever", [C]),
    ("Corvid fiber is cheaper but slower", [C, CF]),
    ("corvid broadband down in my area", [C, CF]),
    ("Corvid 5G coverage is patchy in the city", [C, C5]),
    ("Corvid 5g plan works fine abroad", [C, C5]),
    ("Switched from Corvid Telecom to Larkspur Fiber", [C, L, LF]),
    ("Corvid router is the worst hardware I've owned", [C]),
    ("My Corvid contract ends in June", [C]),
    ("Skylane raised prices again", [S]),
    ("@skylanenet any outage in the centre?", [S]),
    ("Skylane Business quoted us half of what we pay now", [S, SB]),
    ("Skylane for teams is decent but the app is clunky", [S, SB]),
    ("Comparing Skylane Business and Larkspur Office Voice for 20 people", [S, SB, L, LO]),
    ("Thinking about leaving Larkspur for Skylane", [L, S]),
    ("Larkspur matched the Corvid Telecom offer so I stayed", [L, C]),
    # Competitor names in other senses.
    ("Crows and ravens are corvids, very clever birds", []),
    ("The corvid family includes jays and magpies", []),
    ("A corvid stole my sandwich at the beach", []),
    ("Flew the Cessna Skylane to the coast this morning", []),
    ("Skylane Drive is closed for roadworks", []),
]

HANDLES = ["@sam_t", "@priya", "@ben_w", "@mo", "@jules"]
TAGS = ["#help", "#fail", "#homeworking", "#wfh", "#smallbusiness"]
CHANNELS = ["twitter", "reddit", "forum", "reviews", "facebook", "email", "chat"]


def variants(text):
    out = [text]
    if "LSP" not in text:
        out.append(text.lower())
    out.append(f"{rng.choice(HANDLES)} {text}")
    out.append(f"{text} {rng.choice(TAGS)}")
    return out


def main():
    seen = set()
    for text, labels in LINES:
        for v in variants(text):
            if v in seen:
                continue
            seen.add(v)
            # Brand ids of products are implied; keep labels sorted for readability.
            print(json.dumps({"text": v, "channel": rng.choice(CHANNELS), "lang": "en",
                              "expect": sorted(set(labels))}, ensure_ascii=False))


if __name__ == "__main__":
    main()
