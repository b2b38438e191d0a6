//! Input contracts (`social_post`, `support_ticket`) and the one [`Interaction`] both normalise into.
//!
//! The serde types mirror `schemas/social_post.v1.json` and `schemas/support_ticket.v1.json`: unknown
//! fields are tolerated, a missing required field or a wrong type is an error (and so a dead letter).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which contract a message follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    SocialPost,
    SupportTicket,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SocialPost => "social_post",
            Kind::SupportTicket => "support_ticket",
        }
    }
}

/// A public post on a social network, forum or review site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocialPost {
    /// Where it was posted: `twitter`, `reddit`, `forum`, `reviews`, ...
    pub platform: String,
    pub id: String,
    pub author: Author,
    pub text: String,
    /// BCP-47 language tag when the source knows it.
    #[serde(default)]
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub url: Option<String>,
    /// Id of the post this one replies to.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// Handle of the account whose post this one replies to (with or without its `@`): what
    /// platforms give beside a reply's text instead of a leading `@handle` in it (Twitter's
    /// `in_reply_to_screen_name`, the author of a Reddit comment's parent). An account one
    /// brand's catalog queries match makes that brand the reply's recipient, and the reply is
    /// aimed at it (`Matcher::add_recipient`); a person's account makes no target.
    #[serde(default)]
    pub in_reply_to_handle: Option<String>,
    /// Id of the post this one quotes or reshares.
    #[serde(default)]
    pub quote_of: Option<String>,
    #[serde(default)]
    pub engagement: Engagement,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Author {
    pub id: String,
    pub handle: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub followers: Option<u64>,
    #[serde(default)]
    pub verified: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Engagement {
    #[serde(default)]
    pub likes: u64,
    #[serde(default)]
    pub replies: u64,
    #[serde(default)]
    pub shares: u64,
    #[serde(default)]
    pub views: u64,
}

/// A support ticket with its conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportTicket {
    pub id: String,
    pub customer: Customer,
    pub channel: TicketChannel,
    #[serde(default)]
    pub subject: Option<String>,
    pub body: String,
    #[serde(default)]
    pub messages: Vec<TicketMessage>,
    /// Product as the ticketing system names it: a catalog product's id or name makes its
    /// company the ticket's recipient (`Matcher::add_recipient`).
    #[serde(default)]
    pub product: Option<String>,
    /// The company or brand the ticket was sent to, as a catalog brand id: what a helpdesk that
    /// serves several brands records (Zendesk's brand, a Freshdesk portal). The readings per
    /// brand give that brand what the customer asks of the company they wrote to, whether or not
    /// the words name it.
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub status: Option<TicketStatus>,
    #[serde(default)]
    pub priority: Option<TicketPriority>,
    /// BCP-47 tag (the requester's locale, as ticketing systems keep it); detected when absent.
    #[serde(default)]
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub segment: Option<Segment>,
    /// Value tier as the CRM names it (`gold`, `silver`, ...).
    #[serde(default)]
    pub value_tier: Option<String>,
    #[serde(default)]
    pub constituency: Option<Constituency>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Business,
    Consumer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constituency {
    EndUser,
    Distributor,
    Partner,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketChannel {
    Email,
    Chat,
    Phone,
    Web,
    Social,
}

impl TicketChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketChannel::Email => "email",
            TicketChannel::Chat => "chat",
            TicketChannel::Phone => "phone",
            TicketChannel::Web => "web",
            TicketChannel::Social => "social",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    New,
    Open,
    Pending,
    OnHold,
    Solved,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketPriority {
    Low,
    Normal,
    High,
    Urgent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketMessage {
    pub from: Speaker,
    pub text: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Customer,
    Agent,
}

/// The person behind an interaction, as far as the source tells.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Party {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<Segment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_tier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constituency: Option<Constituency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// One customer interaction, whatever its source: what the analyzer reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub kind: Kind,
    /// The source system's id of the post or ticket.
    pub id: String,
    /// Platform of a post (`twitter`, `reddit`, ...) or channel of a ticket (`email`, `chat`, ...).
    pub channel: String,
    pub party: Party,
    pub occurred_at: DateTime<Utc>,
    pub language: Option<String>,
    /// The customer's own words: a post's text; a ticket's subject, body and customer messages,
    /// separated by blank lines. Agent messages are left out: they are not the customer's voice.
    /// Normalised ([`crate::normalize`]): the HTML character references the source wrote in
    /// (`&amp;`, `&lt;3`) decoded, typographic apostrophes (`don’t`) plain.
    pub text: String,
    /// Product named by the ticketing system, if any.
    pub product_hint: Option<String>,
    /// The brand a support ticket was sent to (its `brand`, a catalog brand id), if the source
    /// says.
    pub recipient: Option<String>,
    /// The account a post replies to: its handle as the source gives it, with or without `@` (a
    /// post's `in_reply_to_handle`, trimmed).
    pub reply_to: Option<String>,
    /// A ticket's status: `solved` or `closed` tells the customer memory a problem was resolved.
    pub status: Option<TicketStatus>,
}

impl From<SocialPost> for Interaction {
    fn from(p: SocialPost) -> Self {
        let channel = p.platform.to_lowercase();
        Interaction {
            kind: Kind::SocialPost,
            id: p.id,
            // The account's key: `platform:author id`, unique across platforms (the customer
            // memory's key until an identity link says whose account it is).
            party: Party {
                id: format!("{channel}:{}", p.author.id),
                handle: Some(p.author.handle),
                name: p.author.display_name,
                followers: p.author.followers,
                verified: p.author.verified,
                ..Party::default()
            },
            channel,
            occurred_at: p.created_at,
            language: p.language,
            text: crate::normalize::normalize_owned(p.text),
            product_hint: None,
            recipient: None,
            reply_to: p
                .in_reply_to_handle
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty()),
            status: None,
        }
    }
}

impl From<SupportTicket> for Interaction {
    fn from(t: SupportTicket) -> Self {
        let mut text = String::with_capacity(t.body.len() + 64);
        for part in t.subject.iter().chain(std::iter::once(&t.body)).chain(
            t.messages
                .iter()
                .filter(|m| m.from == Speaker::Customer)
                .map(|m| &m.text),
        ) {
            let decoded = crate::normalize::normalize(part);
            // Spaces, and the zero-width ones exports leave (`&#x200B;`, a byte-order mark).
            let part = decoded
                .trim_matches(|c: char| c.is_whitespace() || matches!(c, '\u{200b}' | '\u{feff}'));
            if part.is_empty() {
                continue;
            }
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(part);
        }
        Interaction {
            kind: Kind::SupportTicket,
            id: t.id,
            channel: t.channel.as_str().to_string(),
            party: Party {
                id: t.customer.id,
                name: t.customer.name,
                email: t.customer.email,
                segment: t.customer.segment,
                value_tier: t.customer.value_tier,
                constituency: t.customer.constituency,
                ..Party::default()
            },
            occurred_at: t.created_at,
            language: t.language,
            text,
            product_hint: t.product,
            recipient: t.brand,
            reply_to: None,
            status: t.status,
        }
    }
}
