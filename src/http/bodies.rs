//! What holds every request body, around every handler (security.md "Slow and hostile
//! clients").
//!
//! Handlers read bodies through `request::read_limited`, which bounds their size and the
//! time they take. Two things no handler can do are done here instead:
//!
//! - One client address may be sending only so many bodies at once
//!   (`UNFURL_MAX_BODIES_PER_ADDRESS`, keyed like the rate limits): a request beyond that
//!   is answered `429` at once, its body unread. The share is given back when the body has
//!   arrived or the request is answered, so a client that sends its bodies whole (Notion,
//!   GitHub, a browser) never comes near the bound, however many requests it has running.
//! - A connection whose body was not read to its end is closed once the answer is written.
//!   actix-http closes it itself only while the body is still held somewhere; once a
//!   handler has dropped it, a chunked body is drained for as long as the sender cares to
//!   dribble it, with no deadline at all (`should_close_for_unread_payload` in its h1
//!   dispatcher). So the body is kept here, inside the response, until the answer is out.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError};
use futures_util::Stream;

use crate::http::error_json::ErrorJson;
use crate::http::limits::{Limits, Share};

/// Why a request was refused before its handler saw it.
#[derive(Debug, thiserror::Error)]
pub enum BodyRefusal {
    #[error("too many request bodies are arriving from this address; retry shortly")]
    TooManyFromAddress,
    #[error("the server is not set up to read request bodies")]
    NoLimits,
}

impl ResponseError for BodyRefusal {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::TooManyFromAddress => StatusCode::TOO_MANY_REQUESTS,
            Self::NoLimits => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let code = match self {
            Self::TooManyFromAddress => {
                // A share comes back as soon as one of the address's bodies arrives.
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
                "too_many_requests"
            }
            Self::NoLimits => "internal_error",
        };
        response.json(ErrorJson {
            error: code,
            message: self.to_string(),
        })
    }
}

/// The middleware (`actix_web::middleware::from_fn(guard)`, wrapped around every route).
pub async fn guard<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B, HeldOpen>>, Error> {
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let share = match req.app_data::<web::Data<Limits>>() {
        Some(limits) => limits
            .arriving_bodies
            .try_take(limits.client(req.request())),
        None => {
            tracing::error!("the limits are not registered; refusing request bodies");
            return Ok(refuse(req, BodyRefusal::NoLimits, payload));
        }
    };
    let Some(share) = share else {
        tracing::info!("refused: too many request bodies arriving from this address");
        return Ok(refuse(req, BodyRefusal::TooManyFromAddress, payload));
    };
    let arriving = Rc::new(Arriving {
        payload: RefCell::new(payload),
        ended: Cell::new(false),
        share: Cell::new(Some(share)),
    });
    let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(ArrivingBody(arriving.clone()));
    req.set_payload(Payload::from(stream));
    // Routes answer their errors as responses; an `Err` here comes from no handler, and
    // cannot be answered without the request (which routing needs unshared).
    let response = next.call(req).await?;
    // Answered: whatever is still to come holds nothing but the connection, which closes.
    drop(arriving.share.take());
    if arriving.ended.get() {
        return Ok(response.map_into_left_body());
    }
    Ok(response
        .map_body(|_, body| HeldOpen::new(body.boxed(), arriving))
        .map_into_right_body())
}

fn refuse<B>(
    req: ServiceRequest,
    refusal: BodyRefusal,
    payload: Payload,
) -> ServiceResponse<EitherBody<B, HeldOpen>> {
    let unread = Rc::new(Arriving {
        payload: RefCell::new(payload),
        ended: Cell::new(false),
        share: Cell::new(None),
    });
    req.error_response(refusal)
        .map_body(|_, body| HeldOpen::new(body, unread))
        .map_into_right_body()
}

/// A request body on its way in, shared by the handler's stream and this module.
struct Arriving {
    payload: RefCell<Payload>,
    /// The body was read to its end (or failed): actix holds nothing more of it.
    ended: Cell<bool>,
    share: Cell<Option<Share>>,
}

/// The body as the handler reads it.
struct ArrivingBody(Rc<Arriving>);

impl Stream for ArrivingBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let arriving = &self.0;
        let next = Pin::new(&mut *arriving.payload.borrow_mut()).poll_next(cx);
        if matches!(next, Poll::Ready(None | Some(Err(_)))) {
            arriving.ended.set(true);
            drop(arriving.share.take());
        }
        next
    }
}

/// A response body that keeps an unread request body alive until it has been written, so
/// that actix closes the connection after it instead of draining the rest.
pub struct HeldOpen {
    body: BoxBody,
    _unread: Rc<Arriving>,
}

impl HeldOpen {
    fn new(body: BoxBody, unread: Rc<Arriving>) -> Self {
        Self {
            body,
            _unread: unread,
        }
    }
}

impl MessageBody for HeldOpen {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}
