"""Code-guessing limits: failed attempts per user, API client and store, in a window."""

import pytest

from promotions.services import guard


def test_failures_below_the_limit_are_allowed(settings):
    settings.COUPON_GUESS_LIMITS = {"user": 3}
    for _ in range(2):
        guard.record_code_failure(user_id=7)
    guard.check_code_attempt(user_id=7)  # 2 < 3: allowed


def test_the_limit_of_failures_refuses_with_429_and_retry_after(settings):
    settings.COUPON_GUESS_LIMITS = {"user": 3}
    for _ in range(3):
        guard.record_code_failure(user_id=7, store_id=1)
    with pytest.raises(guard.RateLimited) as caught:
        guard.check_code_attempt(user_id=7)
    assert caught.value.status == 429 and caught.value.code == "rate_limited"
    assert 1 <= caught.value.retry_after <= guard.window_seconds() + 1
    # another user in the same store is still allowed (the store limit is higher)
    guard.check_code_attempt(user_id=8, store_id=1)


def test_any_exhausted_bucket_refuses(settings):
    settings.COUPON_GUESS_LIMITS = {"store": 2, "user": 100, "client": 100}
    guard.record_code_failure(user_id=1, store_id=5)
    guard.record_code_failure(user_id=2, store_id=5)
    with pytest.raises(guard.RateLimited):
        guard.check_code_attempt(user_id=3, store_id=5)
    guard.check_code_attempt(user_id=3, store_id=6)


def test_clients_are_counted_apart(settings):
    settings.COUPON_GUESS_LIMITS = {"client": 1}
    guard.record_code_failure(api_client_id=10)
    with pytest.raises(guard.RateLimited):
        guard.check_code_attempt(api_client_id=10)
    guard.check_code_attempt(api_client_id=11)
    guard.reset_code_failures(api_client_id=10)
    guard.check_code_attempt(api_client_id=10)


def test_no_bucket_means_no_limit():
    guard.check_code_attempt()
    guard.record_code_failure()


def test_hit_counts_every_attempt():
    guard.hit("mobile:phone", "abc", limit=2, window=60)
    guard.hit("mobile:phone", "abc", limit=2, window=60)
    with pytest.raises(guard.RateLimited):
        guard.hit("mobile:phone", "abc", limit=2, window=60)
    guard.hit("mobile:phone", "other", limit=2, window=60)
