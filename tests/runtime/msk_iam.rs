//! SASL/OAUTHBEARER and AWS MSK IAM (`--features msk-iam`).
//!
//! Offline, without AWS: an MSK IAM token signed at a fixed time with fixed credentials is
//! decoded and every query parameter checked, and its SigV4 signature recomputed here from
//! scratch (SHA-256 and HMAC written out below, themselves checked against FIPS 180-2,
//! RFC 4231 and AWS's published presigned-URL example), not with the signer under test.
//!
//! Against the Kafka of `infra/up`, listener OAUTH (127.0.0.1:9096: SASL_PLAINTEXT,
//! OAUTHBEARER, Kafka's unsecured JWT validator, re-authentication enforced), which refuses
//! MSK tokens but accepts an unsigned JWT:
//! - the refresh plumbing end to end: tokens that live 6 s, a consumer and a publisher that
//!   keep working across many expiries, every token replaced before it expired, records
//!   published after the first token expired all consumed, no token in the logs;
//! - the control: a consumer whose token is not refreshed stops receiving once it expires
//!   (so the broker does enforce expiry and the first test proves the refreshes);
//! - `KAFKA_SASL_MECHANISM=AWS_MSK_IAM` from the environment, with credentials from the AWS
//!   chain (environment variables), reaches the broker as a signed MSK token through
//!   librdkafka's callback (refused there, as expected) and never logs a secret.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consume_runtime::oauth::msk_iam::{self, Credentials, MskIam};
use consume_runtime::oauth::{OAuthBearer, Token, TokenError, TokenProvider};
use consume_runtime::{
    Config, Key, Payload, Publisher, RetryPolicy, Runtime, Secret, State, consume,
};
use consume_tests::runtime::Running;
use consume_tests::{kafka, require, unique};

// ---------------------------------------------------------------------------------------
// SHA-256 and HMAC-SHA256, written out (FIPS 180-4, RFC 2104) so that the signature check
// does not trust the crates the signer uses.

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x36)
        .chain(data.iter().copied())
        .collect();
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).chain(sha256(&inner)).collect();
    sha256(&outer)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3986 unreserved characters stay, everything else is `%XX` (SigV4's URI encoding).
fn uri_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let v = u8::from_str_radix(&s[i + 1..i + 3], 16).expect("percent escape");
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

/// SigV4 of a presigned `GET` (header `host` only): the signature in hex.
/// `query` holds the decoded parameters except `X-Amz-Signature`.
#[allow(clippy::too_many_arguments)]
fn sigv4_presigned(
    secret: &str,
    date: &str,
    amz_date: &str,
    region: &str,
    service: &str,
    host: &str,
    path: &str,
    query: &[(&str, &str)],
    payload_hash: &str,
) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    pairs.sort();
    let canonical_query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_request =
        format!("GET\n{path}\n{canonical_query}\nhost:{host}\n\nhost\n{payload_hash}");
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&sha256(canonical_request.as_bytes()))
    );
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"aws4_request");
    hex(&hmac_sha256(&k_signing, string_to_sign.as_bytes()))
}

#[test]
fn the_independent_sigv4_matches_published_vectors() {
    // FIPS 180-2 appendix B.
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(&sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    // RFC 4231 test cases 2 and 6 (a key longer than the block).
    assert_eq!(
        hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        hex(&hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        )),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
    // AWS's example of a presigned URL ("Authenticating Requests: Using Query Parameters
    // (AWS Signature Version 4)", S3 GET /test.txt, 24 May 2013).
    let sig = sigv4_presigned(
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "20130524",
        "20130524T000000Z",
        "us-east-1",
        "s3",
        "examplebucket.s3.amazonaws.com",
        "/test.txt",
        &[
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            (
                "X-Amz-Credential",
                "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
            ),
            ("X-Amz-Date", "20130524T000000Z"),
            ("X-Amz-Expires", "86400"),
            ("X-Amz-SignedHeaders", "host"),
        ],
        "UNSIGNED-PAYLOAD",
    );
    assert_eq!(
        sig,
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
}

// ---------------------------------------------------------------------------------------
// The MSK IAM token, offline.

const ACCESS_KEY: &str = "AKIAEXAMPLEMSKIAM001";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str =
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+session=token";

/// 2024-05-17T08:09:10.750Z: the signer must truncate to the second.
fn fixed_clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_715_933_350_750)
}

fn fixed_credentials(expiry: Option<SystemTime>) -> Credentials {
    Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        Some(SESSION_TOKEN.to_owned()),
        expiry,
        "test",
    )
}

/// The token's URL: scheme+host+path, and the query parameters in order, decoded.
fn decode_token(token: &Token) -> (String, Vec<(String, String)>) {
    let raw = token.value.expose();
    assert!(
        raw.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "base64url without padding"
    );
    let url = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).expect("base64url")).expect("UTF-8");
    let (base, query) = url.split_once('?').expect("a query");
    let params = query
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("k=v");
            // Every value is strictly encoded: nothing but unreserved characters and escapes.
            assert!(
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)),
                "{k}={v} is not strictly percent-encoded"
            );
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (base.to_owned(), params)
}

#[test]
fn msk_iam_token_contents_and_signature_offline() {
    let provider =
        MskIam::with_credentials("eu-west-1", fixed_credentials(None)).with_clock(fixed_clock);
    let token = provider.token("consume-h").expect("signed");
    let (base, params) = decode_token(&token);
    assert_eq!(base, "https://kafka.eu-west-1.amazonaws.com/");

    // Every parameter once; the action first and the User-Agent (not signed) last, as in
    // AWS's signers; MSK reads the others by name.
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "Action",
            "User-Agent",
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-Security-Token",
            "X-Amz-Signature",
            "X-Amz-SignedHeaders",
        ],
        "{names:?}"
    );
    assert_eq!(names.first(), Some(&"Action"));
    assert_eq!(names.last(), Some(&"User-Agent"));
    let p: HashMap<&str, &str> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(p["Action"], "kafka-cluster:Connect");
    assert_eq!(p["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
    assert_eq!(
        p["X-Amz-Credential"],
        format!("{ACCESS_KEY}/20240517/eu-west-1/kafka-cluster/aws4_request")
    );
    assert_eq!(p["X-Amz-Date"], "20240517T080910Z");
    assert_eq!(p["X-Amz-Expires"], "900");
    assert_eq!(p["X-Amz-Security-Token"], SESSION_TOKEN);
    assert_eq!(p["X-Amz-SignedHeaders"], "host");
    assert_eq!(
        p["User-Agent"],
        format!("consume-runtime/{}", env!("CARGO_PKG_VERSION"))
    );

    // The signature, recomputed here: the signed parameters are all but the signature and
    // the User-Agent (appended after signing, as AWS's signers do); empty payload.
    let signed: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| k != "X-Amz-Signature" && k != "User-Agent")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let expected = sigv4_presigned(
        SECRET_KEY,
        "20240517",
        "20240517T080910Z",
        "eu-west-1",
        "kafka-cluster",
        "kafka.eu-west-1.amazonaws.com",
        "/",
        &signed,
        &hex(&sha256(b"")),
    );
    assert_eq!(p["X-Amz-Signature"], expected);
    assert_eq!(expected.len(), 64);

    // Valid 900 s from X-Amz-Date (the clock's 750 ms are not part of it).
    assert_eq!(
        token.expires_at,
        UNIX_EPOCH + Duration::from_secs(1_715_933_350 + 900)
    );
    assert_eq!(token.principal, msk_iam::PRINCIPAL);

    // The same inputs sign the same token; another second signs another one.
    let again = provider.token("other-client").expect("signed");
    assert_eq!(again.value, token.value);
    let later = MskIam::with_credentials("eu-west-1", fixed_credentials(None))
        .with_clock(|| fixed_clock() + Duration::from_secs(1))
        .token("c")
        .expect("signed");
    assert_ne!(later.value, token.value);

    // Nothing secret in Debug output.
    let shown = format!("{token:?} {:?}", OAuthBearer::new(provider));
    for secret in [SECRET_KEY, SESSION_TOKEN, token.value.expose()] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn msk_iam_token_without_session_token_and_with_short_lived_credentials() {
    // Long-lived keys: no X-Amz-Security-Token, and it is not signed either.
    let keys = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    let token = msk_iam::sign_token("us-east-1", &keys, fixed_clock()).expect("signed");
    let (base, params) = decode_token(&token);
    assert_eq!(base, "https://kafka.us-east-1.amazonaws.com/");
    assert!(params.iter().all(|(k, _)| k != "X-Amz-Security-Token"));
    let p: HashMap<&str, &str> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let signed: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| k != "X-Amz-Signature" && k != "User-Agent")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(signed.len(), 6);
    assert_eq!(
        p["X-Amz-Signature"],
        sigv4_presigned(
            SECRET_KEY,
            "20240517",
            "20240517T080910Z",
            "us-east-1",
            "kafka-cluster",
            "kafka.us-east-1.amazonaws.com",
            "/",
            &signed,
            &hex(&sha256(b"")),
        )
    );

    // Credentials that expire in 2 minutes cap the token's lifetime (librdkafka then asks
    // for the next one after 80 % of that).
    let short = fixed_credentials(Some(fixed_clock() + Duration::from_secs(120)));
    let token = msk_iam::sign_token("us-east-1", &short, fixed_clock()).expect("signed");
    assert_eq!(token.expires_at, fixed_clock() + Duration::from_secs(120));
}

// ---------------------------------------------------------------------------------------
// End to end against the OAUTHBEARER listener.

/// The OAUTHBEARER listener (`KAFKA_OAUTHBEARER_BOOTSTRAP`, default `127.0.0.1:9096`, the
/// port in infra/kafka/ports.sh).
fn oauth_bootstrap() -> String {
    std::env::var("KAFKA_OAUTHBEARER_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9096".to_owned())
}

/// Every log line of this test binary, to check that no token is ever logged.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    // The refreshes, and librdkafka's debug logs (through the consumer's
                    // context) where a token would show if it were ever logged.
                    .unwrap_or_else(|_| {
                        "info,consume_runtime::oauth=debug,consume_runtime::consumer::context=debug"
                            .into()
                    }),
            )
            .with_ansi(false)
            .with_writer(move || Tee(Arc::clone(&sink)))
            .try_init();
        buf
    })
    .clone()
}

/// Writes to the capture buffer and to the test's output (shown when a test fails).
struct Tee(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Tee {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(b);
        tracing_subscriber::fmt::TestWriter::new().write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One token issued: to which client, when, until when, and its value.
#[derive(Debug, Clone)]
struct Issued {
    client: String,
    at: SystemTime,
    expires_at: SystemTime,
    value: String,
}

/// Unsigned JWTs (`alg: none`) that Kafka's unsecured validator accepts, each valid for
/// `lifetime`; after `per_client` tokens to one client it refuses that client more (the
/// control).
struct UnsecuredJwt {
    lifetime: Duration,
    per_client: usize,
    issued: Mutex<Vec<Issued>>,
    refused: Mutex<usize>,
}

impl UnsecuredJwt {
    fn new(lifetime: Duration, per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            lifetime,
            per_client,
            issued: Mutex::default(),
            refused: Mutex::default(),
        })
    }

    fn issued(&self) -> Vec<Issued> {
        self.issued.lock().expect("lock").clone()
    }
}

impl TokenProvider for UnsecuredJwt {
    fn token(&self, client: &str) -> Result<Token, TokenError> {
        let mut issued = self.issued.lock().expect("lock");
        if issued.iter().filter(|t| t.client == client).count() >= self.per_client {
            *self.refused.lock().expect("lock") += 1;
            return Err("this test provider issues no more tokens".into());
        }
        let now = SystemTime::now();
        let exp = now + self.lifetime;
        let secs = |t: SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_secs_f64()
        };
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            format!(
                r#"{{"sub":"consume-test","iat":{:.3},"exp":{:.3},"jti":"{}-{}"}}"#,
                secs(now),
                secs(exp),
                client,
                issued.len()
            )
            .as_bytes(),
        );
        let value = format!("{header}.{claims}.");
        issued.push(Issued {
            client: client.to_owned(),
            at: now,
            expires_at: exp,
            value: value.clone(),
        });
        Ok(Token {
            value: Secret::new(value),
            principal: "consume-test".to_owned(),
            expires_at: exp,
        })
    }

    fn describe(&self) -> String {
        format!("unsecured JWT ({:?})", self.lifetime)
    }
}

/// The runtime's settings for the OAUTHBEARER listener.
fn oauth_config(provider: Arc<UnsecuredJwt>, client_id: &str) -> Config {
    let mut c = Config::new(oauth_bootstrap()).oauthbearer(OAuthBearer::from_arc(provider));
    c.security_protocol = Some("sasl_plaintext".to_owned());
    c.client_id = client_id.to_owned();
    c.boot_timeout = Duration::from_secs(20);
    c.drain_timeout = Duration::from_secs(5);
    c.shutdown_timeout = Duration::from_secs(10);
    c.retry = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
    };
    // librdkafka's security and broker logs, to check that tokens never reach the logs.
    c.property("debug", "security,broker")
}

/// Every value handled, with when.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<BTreeMap<String, SystemTime>>>);

impl Seen {
    fn values(&self) -> BTreeSet<String> {
        self.0.lock().expect("lock").keys().cloned().collect()
    }
}

#[consume(topic = "${OAUTH_E2E_TOPIC}", group = "${OAUTH_E2E_GROUP}")]
async fn oauth_e2e(Key(_k): Key<String>, Payload(v): Payload, State(seen): State<Seen>) {
    let v = String::from_utf8_lossy(v.as_deref().unwrap_or_default()).into_owned();
    seen.0
        .lock()
        .expect("lock")
        .entry(v)
        .or_insert_with(SystemTime::now);
}

#[consume(topic = "${OAUTH_CONTROL_TOPIC}", group = "${OAUTH_CONTROL_GROUP}")]
async fn oauth_control(Key(_k): Key<String>, Payload(v): Payload, State(seen): State<Seen>) {
    let v = String::from_utf8_lossy(v.as_deref().unwrap_or_default()).into_owned();
    seen.0
        .lock()
        .expect("lock")
        .entry(v)
        .or_insert_with(SystemTime::now);
}

const LIFETIME: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_before_they_expire_and_work_continues_across_expiries() {
    let logs = captured_logs();
    require::kafka();
    require::tcp("Kafka (OAUTHBEARER)", &oauth_bootstrap());
    let topic = unique::name("rt-oauth");
    let group = unique::name("rt-oauth-g");
    kafka::create_topic(&kafka::plaintext_config(), &topic, 2).await;

    let provider = UnsecuredJwt::new(LIFETIME, usize::MAX);
    let config = oauth_config(Arc::clone(&provider), "oauth-e2e");
    let seen = Seen::default();
    let started = SystemTime::now();
    let mut run = Running::start(
        Runtime::new(config.clone())
            .only(["oauth_e2e"])
            .var("OAUTH_E2E_TOPIC", &topic)
            .var("OAUTH_E2E_GROUP", &group)
            .state(seen.clone()),
    );
    // The publisher authenticates the same way (its own client, its own refreshes).
    let app = Config {
        client_id: "oauth-e2e-app".to_owned(),
        ..config.clone()
    };
    let publisher = Publisher::new(&app, None).expect("publisher");

    // Publish for 4 token lifetimes, one record every 200 ms, each acknowledged.
    let mut sent: Vec<(String, SystemTime)> = Vec::new();
    let until = Instant::now() + 4 * LIFETIME;
    let mut i = 0;
    while Instant::now() < until {
        let v = format!("v{i}");
        publisher
            .send_bytes(
                &topic,
                Some(format!("k{}", i % 7).as_bytes()),
                Some(v.as_bytes()),
                &[],
            )
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "publishing {v} {:?} after the start: {e}",
                    started.elapsed()
                )
            });
        sent.push((v, SystemTime::now()));
        i += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let want: BTreeSet<String> = sent.iter().map(|(v, _)| v.clone()).collect();
    let s = seen.clone();
    let w = want.clone();
    run.wait_for(
        "every published record consumed",
        Duration::from_secs(30),
        || s.values().is_superset(&w),
    )
    .await;
    run.stop().await.expect("the runtime ran and stopped");
    let publisher_client = "oauth-e2e-app-publisher";
    let issued = provider.issued();
    drop(publisher);

    // Per client: how many tokens, and each replaced before it expired.
    let mut by_client: BTreeMap<&str, Vec<&Issued>> = BTreeMap::new();
    for t in &issued {
        by_client.entry(t.client.as_str()).or_default().push(t);
    }
    let counts: BTreeMap<&str, usize> = by_client.iter().map(|(c, v)| (*c, v.len())).collect();
    eprintln!(
        "tokens issued per client over {:?}: {counts:?}",
        started.elapsed().unwrap_or_default()
    );
    for client in ["oauth_e2e", publisher_client] {
        let tokens = by_client.get(client).map(Vec::as_slice).unwrap_or_default();
        assert!(
            tokens.len() >= 4,
            "{client}: expected a token plus at least 3 refreshes in {:?} with {LIFETIME:?} tokens, got {}",
            4 * LIFETIME,
            tokens.len()
        );
        for pair in tokens.windows(2) {
            assert!(
                pair[1].at < pair[0].expires_at,
                "{client}: a token was replaced only after it expired ({:?} late)",
                pair[1]
                    .at
                    .duration_since(pair[0].expires_at)
                    .unwrap_or_default()
            );
        }
    }
    // The boot probe got one; the dead-letter publisher refreshes too.
    assert!(
        counts.get("boot-probe").is_some_and(|n| *n >= 1),
        "{counts:?}"
    );

    // Records published after the first token of the consumer and of the publisher had
    // expired: acknowledged, and consumed.
    let first_expiry = by_client["oauth_e2e"][0]
        .expires_at
        .max(by_client[publisher_client][0].expires_at);
    let after: Vec<&String> = sent
        .iter()
        .filter(|(_, at)| *at > first_expiry)
        .map(|(v, _)| v)
        .collect();
    let handled = seen.0.lock().expect("lock").clone();
    let handled_after = handled.values().filter(|at| **at > first_expiry).count();
    eprintln!(
        "{} records published ({} after the first tokens expired), {} handled after that",
        sent.len(),
        after.len(),
        handled_after
    );
    assert!(
        after.len() >= 40,
        "only {} records after the first expiry",
        after.len()
    );
    assert!(after.iter().all(|v| handled.contains_key(*v)));
    assert!(handled_after >= after.len());

    // No token, not even the unsigned ones, in the logs (librdkafka's security debug on).
    let logs = String::from_utf8_lossy(&logs.lock().expect("lock")).into_owned();
    assert!(
        logs.contains("OAUTHBEARER token issued"),
        "the refreshes are logged"
    );
    for t in &issued {
        assert!(!logs.contains(&t.value), "a token leaked into the logs");
        let claims = t.value.split('.').nth(1).expect("claims");
        assert!(
            !logs.contains(claims),
            "a token's claims leaked into the logs"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_is_not_refreshed_stops_consumption_when_it_expires() {
    let _ = captured_logs();
    require::kafka();
    require::tcp("Kafka (OAUTHBEARER)", &oauth_bootstrap());
    let topic = unique::name("rt-oauth-ctl");
    let group = unique::name("rt-oauth-ctl-g");
    let base = kafka::plaintext_config();
    kafka::create_topic(&base, &topic, 1).await;

    // One token per client (boot probe, admin, consumer, dead-letter publisher), then
    // refusals.
    let provider = UnsecuredJwt::new(LIFETIME, 1);
    let seen = Seen::default();
    let run = Running::start(
        Runtime::new(oauth_config(Arc::clone(&provider), "oauth-ctl"))
            .only(["oauth_control"])
            .var("OAUTH_CONTROL_TOPIC", &topic)
            .var("OAUTH_CONTROL_GROUP", &group)
            .state(seen.clone()),
    );
    let before: Vec<(String, String)> = (0..5)
        .map(|i| (format!("k{i}"), format!("before{i}")))
        .collect();
    kafka::produce(&base, &topic, &before).await;
    let s = seen.clone();
    consume_tests::runtime::wait_for("the records before expiry", Duration::from_secs(20), || {
        s.values().len() >= before.len()
    })
    .await;
    // Past the expiry of every token issued, with a margin.
    let last_expiry = provider
        .issued()
        .iter()
        .map(|t| t.expires_at)
        .max()
        .expect("tokens were issued");
    let wait = last_expiry
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        + Duration::from_secs(2);
    tokio::time::sleep(wait).await;
    let after: Vec<(String, String)> = (0..5)
        .map(|i| (format!("k{i}"), format!("after{i}")))
        .collect();
    kafka::produce(&base, &topic, &after).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let values = seen.values();
    assert!(
        values.iter().all(|v| v.starts_with("before")),
        "records were consumed after the only token expired: the broker does not enforce \
         expiry, so the refresh test would prove nothing: {values:?}"
    );
    assert!(
        *provider.refused.lock().expect("lock") >= 1,
        "librdkafka asked for a new token before the old one expired"
    );
    // The consumer cannot reach the broker any more; do not wait for a graceful leave.
    drop(run);
}

#[test]
fn aws_msk_iam_from_the_environment_signs_with_the_aws_chain_and_logs_no_secret() {
    require::tcp("Kafka (OAUTHBEARER)", &oauth_bootstrap());
    let dir = std::env::temp_dir().join(unique::name("msk-iam"));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let log_path = dir.join("consumer.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let status = Command::new(env!("CARGO_BIN_EXE_crash_consumer"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KAFKA_BROKERS", oauth_bootstrap())
        .env("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
        .env("KAFKA_SASL_MECHANISM", "AWS_MSK_IAM")
        .env("KAFKA_MSK_IAM_REGION", "eu-west-1")
        // The AWS chain's first link; nothing else (no profile files, no IMDS) is reachable.
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("CONSUME_RDKAFKA_DEBUG", "security,broker")
        .env("CONSUME_BOOT_TIMEOUT_MS", "6000")
        .env("RUST_LOG", "debug")
        .env("CRASH_TOPIC", "consume-tests.never")
        .env("CRASH_GROUP", unique::name("rt-msk-g"))
        .env("CRASH_OUT", dir.join("out.txt"))
        .stdout(Stdio::null())
        .stderr(log)
        .status()
        .expect("run the consumer");
    let logs = std::fs::read_to_string(&log_path).unwrap_or_default();
    let tail = &logs[logs.len().saturating_sub(3000)..];
    assert!(
        !status.success(),
        "the broker must refuse an MSK token: {tail}"
    );
    assert!(
        logs.contains("AWS credentials for MSK IAM loaded"),
        "{tail}"
    );
    assert!(
        logs.contains("OAUTHBEARER token issued") && logs.contains("AWS MSK IAM (eu-west-1"),
        "the MSK provider answered librdkafka's token request: {tail}"
    );
    assert!(logs.contains("cannot reach Kafka"), "{tail}");
    assert!(
        logs.contains("invalid_token"),
        "the broker's unsecured validator refused the MSK token: {tail}"
    );
    // base64url("https://kafka.eu-west-1") begins every token of this region.
    let token_prefix = URL_SAFE_NO_PAD.encode("https://kafka.eu-west-1");
    for secret in [
        SECRET_KEY,
        SESSION_TOKEN,
        &token_prefix[..24],
        "X-Amz-Signature",
    ] {
        assert!(!logs.contains(secret), "{secret:?} leaked into the logs");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
