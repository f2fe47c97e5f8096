//! A single-use sign-in step: of two racing takers exactly one wins.
//!
//! Returns the spent step, which must stay spent after the store reopens.

use crate::{Story, hash};

pub async fn chapter(story: &Story<'_>) -> [u8; 32] {
    let (store, now) = (story.store, story.now);
    let spent_step = hash();
    let (a, b) = tokio::join!(
        store.spend_step(&spent_step, now + 600),
        store.spend_step(&spent_step, now + 600)
    );
    assert_eq!(
        [a.unwrap(), b.unwrap()].iter().filter(|&&won| won).count(),
        1
    );
    assert!(store.spend_step(&hash(), now + 600).await.unwrap());
    spent_step
}
