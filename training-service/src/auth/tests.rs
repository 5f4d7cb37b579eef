use super::*;

const KEY: &str = "unit-test-secret-0123456789-abcdef";

fn secret() -> JwtSecret {
    JwtSecret::new(KEY).unwrap()
}

fn verifier() -> Verifier {
    Verifier::new(JwtConfig::new(
        secret(),
        "training-api",
        "https://issuer.test",
    ))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Claims that pass, `exp` an hour from now; `edit` changes them.
fn claims(edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> serde_json::Value {
    let now = now_secs();
    let mut c = serde_json::json!({
        "sub": "l1", "role": "learner", "aud": "training-api",
        "iss": "https://issuer.test", "iat": now, "exp": now + 3600,
    });
    edit(c.as_object_mut().unwrap());
    c
}

/// A token HMAC-SHA-256-signed with `key` under any header.
fn forge(header: &str, payload: &serde_json::Value, key: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(payload.to_string().as_bytes())
    );
    let sig = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(key),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{input}.{sig}")
}

#[test]
fn minted_tokens_verify() {
    let v = verifier();
    let t = v.mint("l1", Role::Learner, Duration::from_secs(60));
    let c = v.verify(&t).unwrap();
    assert_eq!((c.sub.as_str(), c.role), ("l1", Role::Learner));
    let a = v.mint("boss", Role::Admin, Duration::from_secs(60));
    assert_eq!(v.verify(&a).unwrap().role, Role::Admin);
}

#[test]
fn known_vector_matches_an_independent_hs256() {
    // HMAC-SHA256 over "h.p" computed with Python's hmac module for this key and input.
    let claims = serde_json::json!({"exp": 4_102_444_800_u64, "role": "admin", "sub": "x"});
    let t = forge(r#"{"alg":"HS256","typ":"JWT"}"#, &claims, b"k");
    assert_eq!(
        t,
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjQxMDI0NDQ4MDAsInJvbGUiOiJhZG1pbiIsInN1YiI6IngifQ.29xyStGgO-GfXqMDwGiNTUFfvNrTM5dVGy89Nulo_6w"
    );
}

#[test]
fn short_secrets_are_refused_with_how_to_make_one() {
    let e = JwtSecret::new("x".repeat(MIN_SECRET_BYTES - 1)).unwrap_err();
    assert_eq!(e, SecretError::TooShort { len: 31 });
    assert!(e.to_string().contains("openssl rand"), "{e}");
    assert!(JwtSecret::new("").is_err());
    assert!(JwtSecret::new("x".repeat(MIN_SECRET_BYTES)).is_ok());
    let random = JwtSecret::random().unwrap();
    assert_eq!(random.0.len(), 48);
}

#[test]
fn audience_issuer_and_required_claims() {
    let v = verifier();
    let wrong = |k: &str, v: &str| claims(|c| drop(c.insert(k.into(), v.into())));
    assert_eq!(
        v.verify(&v.sign(&wrong("aud", "other"))),
        Err(AuthError::Audience)
    );
    assert_eq!(
        v.verify(&v.sign(&wrong("iss", "evil"))),
        Err(AuthError::Issuer)
    );
    for claim in ["aud", "iss", "exp", "sub"] {
        let token = v.sign(&claims(|c| drop(c.remove(claim))));
        let refused = v.verify(&token);
        assert!(
            matches!(&refused, Err(AuthError::Claims(m)) if m.contains(claim)),
            "without {claim}: {refused:?}"
        );
    }
    let root = claims(|c| drop(c.insert("role".into(), "root".into())));
    assert!(matches!(
        v.verify(&v.sign(&root)),
        Err(AuthError::Claims(_))
    ));
    let never = claims(|c| drop(c.insert("exp".into(), "never".into())));
    assert!(v.verify(&v.sign(&never)).is_err());
}

#[test]
fn leeway_and_lifetime() {
    let v = verifier();
    let now = now_secs();
    let at = |exp: u64, nbf: Option<u64>| {
        v.verify(&v.sign(&claims(|c| {
            c.insert("exp".into(), exp.into());
            c.remove("iat");
            if let Some(nbf) = nbf {
                c.insert("nbf".into(), nbf.into());
            }
        })))
    };
    assert!(
        at(now - 10, None).is_ok(),
        "expired 10 s ago: within the leeway"
    );
    assert_eq!(at(now - 120, None), Err(AuthError::Expired));
    assert!(at(now + 60, Some(now + 10)).is_ok(), "nbf 10 s ahead");
    assert_eq!(at(now + 600, Some(now + 120)), Err(AuthError::NotYetValid));
    // 24 h is the maximum: a day is fine, a year is not, with or without iat.
    assert!(at(now + 24 * 3600, None).is_ok());
    assert_eq!(at(now + 365 * 86_400, None), Err(AuthError::Lifetime));
    let old = claims(|c| {
        c.insert("iat".into(), (now - 30 * 86_400).into());
        c.insert("exp".into(), (now + 3600).into());
    });
    assert_eq!(v.verify(&v.sign(&old)), Err(AuthError::Lifetime));
    // A leeway above the cap is capped.
    let mut loose = JwtConfig::new(secret(), "training-api", "https://issuer.test");
    loose.leeway = Duration::from_secs(3600);
    let loose = Verifier::new(loose);
    assert_eq!(
        loose.verify(&loose.sign(&claims(|c| drop(
            c.insert("exp".into(), (now - 120).into())
        )))),
        Err(AuthError::Expired)
    );
}

#[test]
fn the_previous_secret_is_accepted_during_a_roll_over() {
    let old = JwtSecret::new("the-previous-secret-0123456789-abcdef").unwrap();
    let issued_before = Verifier::new(JwtConfig::new(
        old.clone(),
        "training-api",
        "https://issuer.test",
    ))
    .mint("l1", Role::Learner, Duration::from_secs(60));
    assert_eq!(verifier().verify(&issued_before), Err(AuthError::Signature));
    let mut rolling = JwtConfig::new(secret(), "training-api", "https://issuer.test");
    rolling.previous = Some(old);
    let rolling = Verifier::new(rolling);
    assert_eq!(rolling.verify(&issued_before).unwrap().sub, "l1");
    // New tokens are signed with the new secret.
    let fresh = rolling.mint("l2", Role::Learner, Duration::from_secs(60));
    assert_eq!(verifier().verify(&fresh).unwrap().sub, "l2");
}

#[test]
fn other_algorithms_are_refused() {
    let v = verifier();
    let c = claims(|_| {});
    // alg none, with and without a signature part.
    let h = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let p = b64(c.to_string().as_bytes());
    assert_eq!(v.verify(&format!("{h}.{p}.")), Err(AuthError::Algorithm));
    assert!(v.verify(&format!("{h}.{p}")).is_err());
    // Correctly HMAC-signed with our secret, but declaring another algorithm.
    for alg in ["RS256", "HS512", "hs256", "None", "ES256"] {
        let t = forge(&format!(r#"{{"alg":"{alg}"}}"#), &c, KEY.as_bytes());
        assert_eq!(v.verify(&t), Err(AuthError::Algorithm), "{alg}");
    }
    let t = forge(r#"{"typ":"JWT"}"#, &c, KEY.as_bytes());
    assert_eq!(v.verify(&t), Err(AuthError::Algorithm));
    let t = forge(r#"{"alg":"HS256","crit":["x"]}"#, &c, KEY.as_bytes());
    assert_eq!(v.verify(&t), Err(AuthError::Algorithm));
    // A real HS512 token with our secret.
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &c,
        &EncodingKey::from_secret(KEY.as_bytes()),
    )
    .unwrap();
    assert_eq!(v.verify(&hs512), Err(AuthError::Algorithm));
}

#[test]
fn wrong_secret_and_tampering_are_refused() {
    let v = verifier();
    let other = JwtSecret::new("another-secret-another-secret-0123").unwrap();
    let t = sign(&other, &claims(|_| {}));
    assert_eq!(v.verify(&t), Err(AuthError::Signature));
    // Swap the payload for one saying admin, keep the learner token's signature.
    let learner = v.mint("l", Role::Learner, Duration::from_secs(60));
    let admin = v.mint("l", Role::Admin, Duration::from_secs(60));
    let l: Vec<&str> = learner.split('.').collect();
    let a: Vec<&str> = admin.split('.').collect();
    let tampered = format!("{}.{}.{}", l[0], a[1], l[2]);
    assert_eq!(v.verify(&tampered), Err(AuthError::Signature));
    let mut bad = learner.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    assert!(v.verify(&bad).is_err());
}

#[test]
fn malformed_tokens_are_refused() {
    let v = verifier();
    for t in ["", "a", "a.b", "a.b.c.d", "!!.??.##", &"x".repeat(9000)] {
        assert!(v.verify(t).is_err(), "{t}");
    }
}

#[test]
fn bearer_header_parsing_and_redaction() {
    assert_eq!(bearer("Bearer abc"), Some("abc"));
    assert_eq!(bearer("bearer  abc "), Some("abc"));
    assert_eq!(bearer("Basic abc"), None);
    assert_eq!(bearer("Bearer"), None);
    assert_eq!(format!("{:?}", secret()), "JwtSecret([redacted])");
    assert!(!format!("{:?}", verifier()).contains(KEY));
}
