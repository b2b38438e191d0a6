#!/usr/bin/env python3
"""Writes samples/stream.jsonl: the bundled sample stream of earshot's embedded default.

Every text here was written for this project (no scraped data). The stream mixes social posts and
support tickets about Larkspur (a fictional home and business connectivity company) and its
competitors Corvid Telecom and Skylane, across several channels; some people appear on more than one
channel (same party id), and a few lines are malformed on purpose. Deterministic: same output every run.

    python3 scripts/gen_sample.py > samples/stream.jsonl
"""
import json
import random
from datetime import datetime, timedelta, timezone

rng = random.Random(20261123)

PEOPLE = [
    # id, handle, name, email, segment, tier, constituency
    ("p-001", "johnmtech", "John Mercer", "john.mercer@example.com", "business", "gold", "end_user"),
    ("p-002", "ana_builds", "Ana Ruiz", "ana@example.org", "consumer", "silver", "end_user"),
    ("p-003", "kwame.o", "Kwame Osei", "kwame.osei@example.net", "business", "platinum", "end_user"),
    ("p-004", "lindaplays", "Linda Park", "linda.park@example.com", "consumer", "bronze", "end_user"),
    ("p-005", "ravi_it", "Ravi Iyer", "ravi.iyer@example.com", "business", "gold", "partner"),
    ("p-006", "mumof3_kate", "Kate Doyle", "kate.doyle@example.com", "consumer", "silver", "end_user"),
    ("p-007", "tomasz_w", "Tomasz Wolski", "t.wolski@example.org", "business", "silver", "distributor"),
    ("p-008", "sofia.g", "Sofia Greco", "sofia.greco@example.com", "consumer", "gold", "end_user"),
    ("p-009", "dan_the_admin", "Dan Hughes", "dan.hughes@example.net", "business", "gold", "end_user"),
    ("p-010", "mei_lin", "Mei Lin", "mei.lin@example.com", "consumer", "bronze", "end_user"),
    ("p-011", "oliverb", "Oliver Brandt", "oliver@example.de", "consumer", "silver", "end_user"),
    ("p-012", "nadia_k", "Nadia Karimi", "nadia.karimi@example.com", "business", "platinum", "end_user"),
]
# Authors only ever seen on social networks.
STRANGERS = [f"u{n}" for n in range(1000, 1090)]

PLATFORMS = ["twitter", "twitter", "twitter", "reddit", "forum", "reviews", "instagram", "facebook"]

POSTS = [
    "Larkspur Fiber has been rock solid for three months now. Zero drops, great speeds. Happy customer!",
    "@larkspurhelp my internet has been down since this morning and nobody answers the phone. #fail",
    "Is anyone else having issues with the Larkspur Hub dropping wifi every evening?",
    "Switched from Corvid Telecom to Larkspur Fiber last week and honestly the difference is night and day",
    "Thinking about leaving Larkspur for Skylane. Third outage this month. Not acceptable.",
    "Shoutout to the Larkspur support team, sorted my billing issue in two minutes. Brilliant.",
    "My larkspur are finally blooming in the garden, so happy with the seeds I planted in spring",
    "Does Larkspur Mobile have decent roaming in Spain? Going on holiday next month with the kids",
    "The new Larkspur Hub app update is great, another update that breaks everything. Thanks a lot.",
    "Our office moved to Larkspur Office Voice and call routing finally works the way we need it to",
    "Cloud Drive sync keeps failing on our shared folders. Team is losing work. @larkspurhelp please fix",
    "Corvid 5G coverage in my area is shocking, can't even load a map. Looking at alternatives.",
    "I wish the Larkspur Hub could schedule wifi off for the kids at bedtime",
    "Recommend Larkspur Fiber to anyone in the new estate, install was quick and the engineer was lovely",
    "Been on hold with Larkspur for 45 minutes. Still waiting. My dad is in hospital and I need my phone working.",
    "Anyone compared Skylane Business and Larkspur Office Voice for a 20 person team?",
    "Just signed up for Larkspur Fiber, installation booked for Friday. Fingers crossed!",
    "Larkspur Shield flagged a phishing email that would have cost us a fortune. Impressed.",
    "Why does Larkspur charge me twice this month?? Refund please. #NeverAgain",
    "Corvid fiber contract ends in June, what are people paying for Larkspur these days?",
    "The crows in the park are such clever corvids, watched one open a bag today",
    "LSP outage again, whole street is offline",
    "love my new Larkspur Mobile plan, cheaper and better signal than before 😍",
    "Larkspur hub keeps rebooting itself 😤😤 working from home and I have a deadline at 5",
    "no complaints about Larkspur so far, does what it says",
    "Not bad at all, the Larkspur router setup took ten minutes",
    "Skylane raised prices again. Time to look around.",
    "Larkspur Cloud Drive restore saved my thesis. Cannot thank you enough!",
    "Cancelling my Larkspur contract tomorrow, had enough of the dropouts",
    "We are moving house next week, can Larkspur move my fiber to the new address without a gap?",
    "Larkspur's customer service is sooo slow. Ticket open for 9 days.",
    "How do I set up the guest network on the Larkspur Hub?",
    "Our whole sales floor lost Larkspur VoIP for two hours. Lost calls, lost deals.",
    "Great, the Larkspur app logged me out again. Just great.",
    "Picked up a bouquet with larkspur and roses for my mum's birthday",
    "Larkspur fiber speeds are fine but the price went up 15% without warning",
    "Switched to Corvid Telecom after 6 years with Larkspur. Better deal, same speed.",
    "@larkspur any plans for a business plan with a static IP? I need a way to host our VPN",
    "New baby at home, up at 3am and the Larkspur wifi is the only thing working reliably lol",
    "Larkspur engineers fixed the cabinet on our road within a day. Respect.",
    "Lost my job last week and can't afford the Larkspur bill. Is there any hardship plan?",
    "Anyone know if Larkspur Shield works with Mac endpoints?",
    "Flight delayed, and Larkspur Mobile roaming isn't working in the airport. Stressful.",
    "Told my whole team to get Larkspur Fiber for home working. Zero regrets.",
    "The larkspur in my mum's garden is taller than me now",
    "Larkspur support promised a callback yesterday. Nothing. Third time I'm calling.",
    "Corvid router is the worst piece of hardware I've owned",
    "Comparing Larkspur Mobile and Corvid 5G plans for my daughter's first phone",
    "Larkspur Office Voice desk phones arrived, setup was painless",
    "Honestly the best broadband I've had. Larkspur, keep it up.",
    "My Larkspur hub light is blinking orange, what does that mean?",
    "Our Cloud Drive backup ran out of space and nobody told us. Unacceptable for a business product.",
    "Skylane outage in the city centre, glad we're on Larkspur",
    "Larkspur Fiber install went well but the engineer left a mess in the hallway",
    "Why is there no dark mode in the Larkspur app? It's 2026",
    "Just renewed with Larkspur for another two years, they matched the Corvid offer",
    "the larkspur hub is ok i guess",
    "LARKSPUR YOUR NETWORK IS DOWN AGAIN!!!",
    "Kids doing homework, me on calls, Larkspur fiber handles it all without a hiccup",
    "Any Larkspur Office Voice admins here? Call routing rules reset after the update",
]

TICKET_SUBJECTS_BODIES = [
    ("Internet down", "My Larkspur Fiber connection has been down since 7am. I work from home and have a client call at 10. Please help urgently."),
    ("Double charge", "I was charged twice for my Larkspur Mobile plan this month. I want a refund of the second payment."),
    ("Hub keeps rebooting", "The Larkspur Hub restarts every hour or so. I have tried a factory reset. Still happening."),
    ("Moving house", "We are moving to a new address on the 14th. How do I transfer my fiber service without losing connection?"),
    ("Cancel contract", "Please cancel my contract. I am switching to Corvid Telecom because they offered a better price."),
    ("Cloud Drive sync failing", "Our team's Cloud Drive sync fails with error 0x80 on shared folders. This is blocking 30 staff."),
    ("Office Voice call routing", "After the last update our call routing rules in Larkspur Office Voice were reset. Calls go to the wrong team."),
    ("Thank you", "Just wanted to say the engineer who came today was fantastic. Fixed everything and explained it clearly."),
    ("Roaming not working", "I'm abroad for my father's surgery and Larkspur Mobile roaming isn't working. I need to reach the hospital."),
    ("Static IP", "Do you offer a static IP on the business fiber plan? We need it to run our VPN."),
    ("Slow speeds", "Paying for 500 Mbps, getting 40 in the evenings. Third ticket about this. Nothing changes."),
    ("Shield licence", "How do I add ten more endpoints to our Larkspur Shield licence?"),
    ("Hardship", "I lost my job and I am struggling to pay. Is there a payment plan or a cheaper tariff?"),
    ("Still waiting", "Still waiting for the callback I was promised on Monday. This is the fourth time I'm writing."),
    ("Upgrade", "I'd like to upgrade to the 1 Gbps plan. What does it cost and when can it be activated?"),
    ("Router light", "The light on my Larkspur Hub is blinking orange. What should I do?"),
    ("Outage", "Whole office lost connection. Larkspur Office Voice down too. We are a clinic, patients can't reach us."),
    ("Bill question", "Why did my bill go up by 12 pounds? Nobody told me about a price change."),
    ("New install", "Installation was quick and easy, everything works. Just checking when the first bill arrives."),
    ("Feature request", "I wish the Hub app had parental controls with a schedule. I need a way to turn off the kids' wifi at night."),
    ("Complaint", "Your technician missed the appointment twice. I took two days off work for nothing. Very disappointed."),
    ("Backup restore", "Cloud Drive restore worked perfectly, we recovered everything after the ransomware scare. Thanks!"),
    ("Contract end", "My contract ends next month. What can you offer me to stay? Skylane quoted me 25 a month."),
    ("Password reset", "I can't log into the app, the password reset email never arrives."),
]

FOLLOWUPS_CUSTOMER = [
    "Any update on this?",
    "This is still not fixed.",
    "Thanks, that worked!",
    "I have now been without service for three days.",
    "Ok, I'll try that tonight.",
    "Please escalate, this is costing us money.",
]
FOLLOWUPS_AGENT = [
    "Thanks for reaching out, we are looking into it.",
    "Could you please restart the device and let us know?",
    "I've escalated this to our network team.",
    "Sorry for the trouble, a refund has been issued.",
]

MALFORMED = [
    '{"platform": "twitter", "id": "bad-1", "author": {"id": "u1", "handle": "x"}, "text": "unterminated',
    '{"platform": "twitter", "id": "bad-2", "author": {"id": "u2"}, "text": "no handle", "created_at": "2026-11-20T10:00:00Z"}',
    '{"platform": "reddit", "id": "bad-3", "author": {"id": "u3", "handle": "h"}, "text": 42, "created_at": "2026-11-20T10:00:00Z"}',
    '{"id": "bad-4", "customer": {"id": "c9"}, "channel": "pigeon", "body": "hi", "created_at": "2026-11-20T10:00:00Z"}',
    '{"id": "bad-5", "customer": {"id": "c9"}, "channel": "email", "body": "when?", "created_at": "last tuesday"}',
    '["not", "an", "object"]',
    '{"hello": "world"}',
    '{"kind": "fax", "id": "bad-8"}',
]

FOREIGN_POSTS = [
    ("de", "Der Larkspur Router ist eine Katastrophe, seit drei Tagen kein Internet!"),
    ("es", "El soporte de Larkspur es excelente, me lo arreglaron en diez minutos"),
    (None, "Franchement la fibre Larkspur c'est du grand n'importe quoi, encore une coupure ce matin"),
]

FOREIGN_TICKET = (
    "Factuur klopt niet",
    "Goedemiddag, op mijn factuur van Larkspur staat twee keer dezelfde maand. Kunt u dit "
    "corrigeren? Met vriendelijke groet.",
    [],
)

start = datetime(2026, 11, 16, 6, 0, tzinfo=timezone.utc)


def ts(minutes):
    return (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def post(i, minute):
    text = rng.choice(POSTS)
    platform = rng.choice(PLATFORMS)
    if rng.random() < 0.25:
        pid, handle, name, *_ = rng.choice(PEOPLE)
        author = {"id": pid, "handle": handle, "display_name": name,
                  "followers": rng.randint(50, 5000), "verified": False}
    else:
        uid = rng.choice(STRANGERS)
        # A stranger's id is the platform's own: the same digits on two platforms are two people.
        author = {"id": f"{platform}:{uid}", "handle": f"user_{uid[1:]}", "followers": rng.randint(0, 20000),
                  "verified": rng.random() < 0.03}
    p = {
        "platform": platform,
        "id": f"{platform[:2]}-{100000 + i}",
        "author": author,
        "text": text,
        "language": "en",
        "created_at": ts(minute),
        "url": f"https://{platform}.example/{author['handle']}/{100000 + i}",
        "engagement": {"likes": rng.randint(0, 300), "replies": rng.randint(0, 40),
                       "shares": rng.randint(0, 60)},
    }
    if rng.random() < 0.1:
        p["in_reply_to"] = f"{platform[:2]}-{100000 + rng.randint(0, max(i - 1, 0))}"
    return p


def ticket(i, minute):
    subject, body = rng.choice(TICKET_SUBJECTS_BODIES)
    pid, handle, name, email, segment, tier, constituency = rng.choice(PEOPLE)
    messages = []
    t = minute
    for _ in range(rng.randint(0, 3)):
        t += rng.randint(5, 600)
        if rng.random() < 0.5:
            messages.append({"from": "agent", "text": rng.choice(FOLLOWUPS_AGENT), "at": ts(t)})
        else:
            messages.append({"from": "customer", "text": rng.choice(FOLLOWUPS_CUSTOMER), "at": ts(t)})
    return {
        "id": f"T-{5000 + i}",
        "customer": {"id": pid, "email": email, "name": name, "segment": segment,
                     "value_tier": tier, "constituency": constituency},
        "channel": rng.choice(["email", "chat", "phone", "web", "social"]),
        "subject": subject,
        "body": body,
        "messages": messages,
        "product": None,
        "status": rng.choice(["new", "open", "pending", "on_hold", "solved"]),
        "priority": rng.choice(["low", "normal", "normal", "high", "urgent"]),
        "created_at": ts(minute),
    }


def main():
    lines = []
    minute = 0
    for i in range(340):
        minute += rng.randint(1, 25)
        lines.append(json.dumps(post(i, minute) if rng.random() < 0.68 else ticket(i, minute),
                                ensure_ascii=False))
    for bad in MALFORMED:
        lines.insert(rng.randint(0, len(lines)), bad)
    # Messages in languages the analysers do not read: tagged by their source or not (then
    # detected). They keep their mentions; sentiment, emotions and signals are left out.
    for n, (lang, text) in enumerate(FOREIGN_POSTS):
        p = post(1000 + n, minute + 1 + n)
        p["text"], p["language"] = text, lang
        if lang is None:
            del p["language"]
        lines.append(json.dumps(p, ensure_ascii=False))
    t = ticket(1100, minute + 10)
    t["subject"], t["body"], t["messages"] = FOREIGN_TICKET
    lines.append(json.dumps(t, ensure_ascii=False))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
