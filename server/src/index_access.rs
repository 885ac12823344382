//! Who may read the simple index and download files. With
//! `index_access = "anonymous"` anyone may; with `"token"` a client sends an
//! API token, as HTTP basic (any user name, the token as password: what pip,
//! uv and poetry send from an index URL with credentials or a netrc) or as
//! `Authorization: Bearer`. Verified tokens are remembered for
//! [`TOKEN_TTL`], so installs do not cost a database query per request. A
//! revoked token or a disabled user is forgotten at once by every process:
//! the change feed carries access changes too (see `index_feed`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use airlock_store::auth;
use airlock_store::config::IndexAccess;
use base64::Engine;
use sha2::Digest;

use crate::state::AppState;

/// How long a verified token is trusted without asking the database again.
pub const TOKEN_TTL: Duration = Duration::from_secs(30);
const MAX_REMEMBERED: usize = 10_000;

/// A verified token's user (None: not a valid token), and when it was checked.
type Verified = (Option<String>, Instant);

/// Recently verified tokens, by digest (never the token itself).
#[derive(Default)]
pub struct TokenCache {
    verified: Mutex<HashMap<[u8; 32], Verified>>,
}

impl TokenCache {
    fn get(&self, digest: &[u8; 32]) -> Option<Option<String>> {
        let map = self.verified.lock().expect("token cache lock");
        map.get(digest).filter(|(_, at)| at.elapsed() < TOKEN_TTL).map(|(user, _)| user.clone())
    }

    /// True when `token` was verified as a valid token a moment ago.
    pub fn knows_valid(&self, token: &str) -> bool {
        matches!(self.get(&digest(token)), Some(Some(_)))
    }

    /// Remember what the database said of `token` (its user, or None).
    pub fn remember(&self, token: &str, user: Option<String>) {
        self.put(digest(token), user);
    }

    /// Forget every verified token (a token was revoked or a user changed).
    pub fn clear(&self) {
        self.verified.lock().expect("token cache lock").clear();
    }

    fn put(&self, digest: [u8; 32], user: Option<String>) {
        let mut map = self.verified.lock().expect("token cache lock");
        if map.len() >= MAX_REMEMBERED {
            map.retain(|_, (_, at)| at.elapsed() < TOKEN_TTL);
            if map.len() >= MAX_REMEMBERED {
                map.clear();
            }
        }
        map.insert(digest, (user, Instant::now()));
    }
}

fn digest(token: &str) -> [u8; 32] {
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// The token a request carries, from basic or bearer authorization.
pub fn presented_token(req: &HttpRequest) -> Option<String> {
    token_in(req.headers().get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The token in an `Authorization` header's value.
pub fn token_in(value: &str) -> Option<String> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_string()).filter(|t| !t.is_empty());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (_, password) = text.split_once(':')?;
        return Some(password.to_string()).filter(|t| !t.is_empty());
    }
    None
}

fn challenge() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"airlock\", charset=\"UTF-8\""))
        .content_type("text/plain; charset=utf-8")
        .body("this index needs an API token: use it as the password of HTTP basic auth, or send Authorization: Bearer\n")
}

/// `Ok` when the request may read the index, with the token's user when
/// the index needs tokens (None when anyone may read it); else the 401 to send.
pub async fn check(req: &HttpRequest, state: &AppState) -> Result<Option<String>, HttpResponse> {
    if state.config.index_access == IndexAccess::Anonymous {
        return Ok(None);
    }
    let Some(token) = presented_token(req) else { return Err(challenge()) };
    let digest = digest(&token);
    let user = match state.tokens.get(&digest) {
        Some(user) => user,
        None => {
            let user = match state.db(move |c| auth::token_user(c, &token)).await {
                Ok(user) => user.map(|u| u.name),
                Err(e) => {
                    tracing::warn!(error = %e, "checking an index token");
                    return Err(HttpResponse::ServiceUnavailable().finish());
                }
            };
            state.tokens.put(digest, user.clone());
            user
        }
    };
    match user {
        Some(name) => Ok(Some(name)),
        None => Err(challenge()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn tokens_come_from_basic_or_bearer() {
        let basic = base64::engine::general_purpose::STANDARD.encode("__token__:airlock_abc");
        let req = TestRequest::default().insert_header((header::AUTHORIZATION, format!("Basic {basic}"))).to_http_request();
        assert_eq!(presented_token(&req).as_deref(), Some("airlock_abc"));
        let req = TestRequest::default().insert_header((header::AUTHORIZATION, "Bearer airlock_xyz")).to_http_request();
        assert_eq!(presented_token(&req).as_deref(), Some("airlock_xyz"));
        let empty = base64::engine::general_purpose::STANDARD.encode("user:");
        let req = TestRequest::default().insert_header((header::AUTHORIZATION, format!("Basic {empty}"))).to_http_request();
        assert_eq!(presented_token(&req), None);
        let req = TestRequest::default().insert_header((header::AUTHORIZATION, "Basic !!!")).to_http_request();
        assert_eq!(presented_token(&req), None);
        assert_eq!(presented_token(&TestRequest::default().to_http_request()), None);
    }

    #[test]
    fn the_cache_forgets_after_its_ttl() {
        let cache = TokenCache::default();
        cache.put([1; 32], Some("alice".into()));
        assert_eq!(cache.get(&[1; 32]), Some(Some("alice".into())));
        assert_eq!(cache.get(&[2; 32]), None);
        cache.verified.lock().unwrap().insert([3; 32], (Some("bob".into()), Instant::now() - TOKEN_TTL));
        assert_eq!(cache.get(&[3; 32]), None);
    }
}
