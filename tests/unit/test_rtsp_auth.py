from camera_ops.rtsp.auth import BasicAuth, DigestAuth, choose_authorizer, parse_challenge

RFC2617_CHALLENGE = (
    'Digest realm="testrealm@host.com", qop="auth,auth-int", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)


def test_digest_matches_rfc2617_example():
    auth = DigestAuth("Mufasa", "Circle Of Life", parse_challenge(RFC2617_CHALLENGE))
    value = auth.authorization("GET", "/dir/index.html", cnonce="0a4f113b")
    params = parse_challenge(value).params
    assert params["response"] == "6629fae49393a05397450978507c4ef1"
    assert params["nc"] == "00000001" and params["qop"] == "auth"
    assert params["opaque"] == "5ccc069c403ebaf9f0171e9517f40e41"


def test_digest_nonce_count_increments_per_request():
    auth = DigestAuth("u", "p", parse_challenge(RFC2617_CHALLENGE))
    auth.authorization("DESCRIBE", "rtsp://h/x")
    assert 'nc=00000002' in auth.authorization("SETUP", "rtsp://h/x")


def test_digest_without_qop_uses_rfc2069_response():
    auth = DigestAuth("u", "p", parse_challenge('Digest realm="r", nonce="n"'))
    value = auth.authorization("DESCRIBE", "rtsp://h/x")
    assert "qop" not in value and 'response="' in value


def test_digest_preferred_over_basic_and_basic_used_alone():
    both = ['Basic realm="cam"', 'Digest realm="cam", nonce="abc"']
    assert isinstance(choose_authorizer(both, "u", "p"), DigestAuth)
    basic = choose_authorizer(['Basic realm="cam"'], "admin", "secret")
    assert isinstance(basic, BasicAuth)
    assert basic.authorization("GET", "/") == "Basic YWRtaW46c2VjcmV0"


def test_unknown_scheme_gives_no_authorizer():
    assert choose_authorizer(['Bearer realm="x"'], "u", "p") is None
