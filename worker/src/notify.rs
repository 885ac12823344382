//! Delivering notifications: the outbox's worker half. One task per
//! process (a) announces releases that entered review since the last
//! announcement, one event per batch (`notify_batch_secs`), and (b) POSTs
//! every pending event to the webhook, signed, retrying a failure with
//! exponential backoff (`retry_base_ms` doubled per attempt) until
//! `webhook_max_attempts`, after which the delivery is marked failed and
//! shows so on the admin page. Delivery is at least once: receivers
//! dedupe on the event id.

use std::time::{Duration, Instant};

use airlock_store::config::Webhook;
use airlock_store::notify::{self, Notification};
use sha2::{Digest, Sha256};
use tokio::sync::watch as signal;

use crate::context::Context;

/// The signature header: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Airlock-Signature";

/// HMAC-SHA256 (RFC 2104) of `message` under `key`. Written here since the
/// stack has `sha2` but no HMAC crate, and HMAC is these few lines.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    let outer = Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize();
    let mut out = [0u8; 32];
    out.copy_from_slice(&outer);
    out
}

/// The signature header's value for `body`.
pub fn signature(secret: &str, body: &str) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), body.as_bytes())))
}

/// POST one event; Err with what went wrong.
async fn deliver(client: &reqwest::Client, hook: &Webhook, event: &Notification) -> Result<(), String> {
    let body = event.webhook_body();
    let mut req = client
        .post(&hook.url)
        .header("Content-Type", "application/json")
        .header("X-Airlock-Event", &event.kind)
        .header("X-Airlock-Delivery", &event.event_id)
        .body(body.clone());
    if let Some(secret) = &hook.secret {
        req = req.header(SIGNATURE_HEADER, signature(secret, &body));
    }
    match req.send().await {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(format!("HTTP {}", resp.status())),
        Err(e) => Err(format!("request failed: {e}")),
    }
}

/// One round: announce new releases in review (when a batch is due), then
/// deliver what is due. Returns how many deliveries were tried.
pub async fn round(ctx: &Context, client: &reqwest::Client, announce: bool) -> usize {
    if announce {
        if let Err(e) = ctx.db(notify::batch_review_waiting).await {
            tracing::warn!(error = %e, "announcing releases waiting for review");
        }
    }
    let Some(hook) = ctx.webhook.clone() else { return 0 };
    let due = match ctx.db(|c| notify::due_deliveries(c, 50)).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "reading due webhook deliveries");
            return 0;
        }
    };
    let tried = due.len();
    for (event, _) in due {
        let id = event.id;
        match deliver(client, &hook, &event).await {
            Ok(()) => {
                let _ = ctx.db(move |c| notify::delivered(c, id)).await;
            }
            Err(why) => {
                let (base, max) = (ctx.retry_base.as_millis() as i64, hook.max_attempts);
                let w = why.clone();
                let state = ctx.db(move |c| notify::delivery_failed(c, id, &w, base, max)).await;
                tracing::warn!(event = %event.event_id, kind = %event.kind, error = %why, state = ?state.ok(), "webhook delivery failed");
            }
        }
    }
    tried
}

/// Run rounds until shutdown: deliveries every second, announcements every
/// `notify_batch`.
pub async fn run(ctx: Context, mut shutdown: signal::Receiver<bool>) {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => return tracing::error!(error = %e, "webhook client"),
    };
    let mut last_batch = Instant::now();
    loop {
        let announce = last_batch.elapsed() >= ctx.notify_batch;
        if announce {
            last_batch = Instant::now();
        }
        round(&ctx, &client, announce).await;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_rfc_4231_vectors() {
        // Test cases 1, 2 and 6 (a key longer than the block).
        assert_eq!(hex::encode(hmac_sha256(&[0x0b; 20], b"Hi There")), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        assert_eq!(hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(
            hex::encode(hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert_eq!(signature("Jefe", "what do ya want for nothing?"), "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
