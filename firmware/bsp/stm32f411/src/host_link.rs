//! The host link's receive side: USART1's receive interrupt moves each byte into a queue the
//! main loop drains.
//!
//! The USART holds one byte, which at 115 200 baud the next overwrites after 87 µs; the main
//! loop can be busy longer than that (handling a frame, sending one), so reception cannot be
//! polled from it. The queue holds more than a full frame of the link. Transmission needs no
//! interrupt: the main loop writes whenever the transmit register is empty.

use core::cell::RefCell;

use critical_section::Mutex;
use heapless::spsc::{Consumer, Producer, Queue};
use static_cell::StaticCell;
use stm32f4xx_hal::pac::{self, USART1, interrupt};
use stm32f4xx_hal::prelude::*;
use stm32f4xx_hal::serial::{Rx, RxISR, RxListen};

/// Received bytes not yet taken by the main loop: two full link frames.
const QUEUE_LEN: usize = 2 * borderlink_protocol::link::MAX_WIRE_LEN;

static QUEUE: StaticCell<Queue<u8, QUEUE_LEN>> = StaticCell::new();

/// The USART's receiver and the interrupt's end of the queue.
type Receiver = (Rx<USART1>, Producer<'static, u8>);

/// What the interrupt handler owns.
static RECEIVER: Mutex<RefCell<Option<Receiver>>> = Mutex::new(RefCell::new(None));

/// Starts interrupt-driven reception; returns the main loop's end of the queue.
pub(crate) fn start(mut rx: Rx<USART1>) -> Consumer<'static, u8> {
    let (producer, consumer) = QUEUE.init(Queue::new()).split();
    rx.listen();
    critical_section::with(|cs| RECEIVER.borrow(cs).replace(Some((rx, producer))));
    #[allow(unsafe_code)]
    // SAFETY: unmasking can break a critical section that relies on masking this interrupt;
    // none does: the handler touches only `RECEIVER`, through its mutex.
    unsafe {
        cortex_m::peripheral::NVIC::unmask(pac::Interrupt::USART1);
    }
    consumer
}

#[interrupt]
fn USART1() {
    critical_section::with(|cs| {
        let mut receiver = RECEIVER.borrow_ref_mut(cs);
        let Some((rx, producer)) = receiver.as_mut() else {
            return;
        };
        while rx.is_rx_not_empty() {
            // A byte lost to overrun, noise or framing, or dropped by a full queue, breaks its
            // frame's CRC: the board logic counts it and the host resends the command.
            if let Ok(byte) = rx.read() {
                let _ = producer.enqueue(byte);
            }
        }
    });
}
