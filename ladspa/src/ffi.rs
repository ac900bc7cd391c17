//! The LADSPA C ABI (ladspa.h, version 1.1), written out by hand.
//!
//! Not the `ladspa` crate: its `connect_port` collects the port list into a new `Vec` on every
//! call, and PipeWire's filter-chain reconnects the audio ports on every cycle, on the audio
//! thread. Here `connect_port` only stores a pointer and `run` only reads them.

use std::ffi::{c_char, c_int, c_ulong, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use crate::plugin::Instance;
use crate::worker::Settings;
use crate::{PortSpec, PORTS};

/// `LADSPA_PROPERTY_HARD_RT_CAPABLE`: `run` neither allocates nor blocks (real-time mode).
const PROPERTY_HARD_RT_CAPABLE: c_int = 0x4;
const PORT_INPUT: c_int = 0x1;
const PORT_OUTPUT: c_int = 0x2;
const PORT_CONTROL: c_int = 0x4;
const PORT_AUDIO: c_int = 0x8;
const HINT_BOUNDED_BELOW: c_int = 0x1;
const HINT_BOUNDED_ABOVE: c_int = 0x2;
const HINT_TOGGLED: c_int = 0x4;
const HINT_INTEGER: c_int = 0x20;
const HINT_DEFAULT_MINIMUM: c_int = 0x40;
const HINT_DEFAULT_MAXIMUM: c_int = 0x140;
const HINT_DEFAULT_0: c_int = 0x200;

type Handle = *mut c_void;

/// `LADSPA_PortRangeHint`.
#[repr(C)]
struct RangeHint {
    hint: c_int,
    lower: f32,
    upper: f32,
}

/// `LADSPA_Descriptor`.
#[repr(C)]
pub struct Descriptor {
    unique_id: c_ulong,
    label: *const c_char,
    properties: c_int,
    name: *const c_char,
    maker: *const c_char,
    copyright: *const c_char,
    port_count: c_ulong,
    port_descriptors: *const c_int,
    port_names: *const *const c_char,
    port_range_hints: *const RangeHint,
    implementation_data: *mut c_void,
    instantiate: extern "C" fn(*const Descriptor, c_ulong) -> Handle,
    connect_port: extern "C" fn(Handle, c_ulong, *mut f32),
    activate: Option<extern "C" fn(Handle)>,
    run: extern "C" fn(Handle, c_ulong),
    run_adding: Option<extern "C" fn(Handle, c_ulong)>,
    set_run_adding_gain: Option<extern "C" fn(Handle, f32)>,
    deactivate: Option<extern "C" fn(Handle)>,
    cleanup: extern "C" fn(Handle),
}

/// A descriptor and the arrays it points into (never freed: they live as long as the library).
struct Owned {
    desc: Descriptor,
    _descs: Vec<c_int>,
    _names: Vec<*const c_char>,
    _hints: Vec<RangeHint>,
}

// The descriptors are immutable once built and only read by hosts.
unsafe impl Send for Owned {}
unsafe impl Sync for Owned {}

static DESCRIPTORS: OnceLock<[Owned; 2]> = OnceLock::new();

/// A plugin instance as the host sees it: port pointers and the instance.
struct Plugin {
    channels: usize,
    ports: [*mut f32; 2 * crate::plugin::MAX_CHANNELS + PORTS.len()],
    /// Copies of the input blocks ([`SCRATCH`] frames per channel).
    scratch: [Vec<f32>; 2],
    inst: Instance,
}

/// Frames `run` copies at a time; larger host blocks are processed in pieces.
const SCRATCH: usize = 8192;

fn port_descriptor(p: &PortSpec) -> c_int {
    let dir = if p.output { PORT_OUTPUT } else { PORT_INPUT };
    dir | if p.audio { PORT_AUDIO } else { PORT_CONTROL }
}

fn hint(p: &PortSpec) -> RangeHint {
    let mut h = 0;
    if p.toggled {
        h |= HINT_TOGGLED | HINT_DEFAULT_0;
    } else if let Some((lo, hi)) = p.range {
        h |= HINT_BOUNDED_BELOW | HINT_BOUNDED_ABOVE;
        h |= if p.default == hi { HINT_DEFAULT_MAXIMUM } else { HINT_DEFAULT_MINIMUM };
        if p.integer {
            h |= HINT_INTEGER;
        }
        return RangeHint { hint: h, lower: lo, upper: hi };
    }
    RangeHint { hint: h, lower: 0.0, upper: 0.0 }
}

fn owned(index: usize) -> Owned {
    let channels = index + 1;
    let ports = crate::ports(channels);
    let descs: Vec<c_int> = ports.iter().map(port_descriptor).collect();
    let names: Vec<*const c_char> = ports.iter().map(|p| p.name.as_ptr()).collect();
    let hints: Vec<RangeHint> = ports.iter().map(hint).collect();
    let (label, name): (&'static CStr, &'static CStr) = if channels == 1 {
        (c"restoregrad_mono", c"restoregrad speech enhancement (mono)")
    } else {
        (c"restoregrad_stereo", c"restoregrad speech enhancement (stereo)")
    };
    let desc = Descriptor {
        unique_id: crate::UNIQUE_IDS[index],
        label: label.as_ptr(),
        properties: PROPERTY_HARD_RT_CAPABLE,
        name: name.as_ptr(),
        maker: c"restoregrad".as_ptr(),
        copyright: c"MIT OR Apache-2.0".as_ptr(),
        port_count: ports.len() as c_ulong,
        port_descriptors: descs.as_ptr(),
        port_names: names.as_ptr(),
        port_range_hints: hints.as_ptr(),
        implementation_data: std::ptr::null_mut(),
        instantiate,
        connect_port,
        activate: Some(activate),
        run,
        run_adding: None,
        set_run_adding_gain: None,
        deactivate: Some(deactivate),
        cleanup,
    };
    Owned { desc, _descs: descs, _names: names, _hints: hints }
}

/// The LADSPA entry point: descriptor 0 is the mono plugin, 1 the stereo one.
///
/// # Safety
/// Called by LADSPA hosts; the returned pointer is valid until the library is unloaded.
#[no_mangle]
pub unsafe extern "C" fn ladspa_descriptor(index: c_ulong) -> *const Descriptor {
    let all = DESCRIPTORS.get_or_init(|| [owned(0), owned(1)]);
    match all.get(index as usize) {
        Some(o) => &o.desc,
        None => std::ptr::null(),
    }
}

extern "C" fn instantiate(desc: *const Descriptor, rate: c_ulong) -> Handle {
    let channels = if desc.is_null() { 1 } else { 1 + usize::from(unsafe { (*desc).unique_id } == crate::UNIQUE_IDS[1]) };
    let made = catch_unwind(|| Instance::new(channels, rate));
    match made {
        Ok(Ok(inst)) => {
            let ports = [std::ptr::null_mut(); 2 * crate::plugin::MAX_CHANNELS + PORTS.len()];
            Box::into_raw(Box::new(Plugin { channels, ports, scratch: [prefaulted(SCRATCH), prefaulted(SCRATCH)], inst })) as Handle
        }
        Ok(Err(e)) => {
            eprintln!("restoregrad: {e:#}");
            std::ptr::null_mut()
        }
        Err(_) => std::ptr::null_mut(),
    }
}

/// A zeroed buffer whose pages are already mapped (written once), so `run` takes no page faults.
fn prefaulted(n: usize) -> Vec<f32> {
    let mut v = vec![0.0; n];
    v.iter_mut().for_each(|x| *x = std::hint::black_box(0.0));
    v
}

extern "C" fn connect_port(h: Handle, port: c_ulong, data: *mut f32) {
    if h.is_null() {
        return;
    }
    let p = unsafe { &mut *(h as *mut Plugin) };
    if let Some(slot) = p.ports.get_mut(port as usize) {
        *slot = data;
    }
}

extern "C" fn activate(h: Handle) {
    if h.is_null() {
        return;
    }
    let p = unsafe { &mut *(h as *mut Plugin) };
    let _ = catch_unwind(AssertUnwindSafe(|| p.inst.activate()));
}

extern "C" fn deactivate(_: Handle) {}

extern "C" fn cleanup(h: Handle) {
    if !h.is_null() {
        drop(unsafe { Box::from_raw(h as *mut Plugin) });
    }
}

/// Reads a control input (the default when the host left it unconnected).
fn control(ptr: *mut f32, default: f32) -> f32 {
    if ptr.is_null() {
        default
    } else {
        unsafe { ptr.read_volatile() }
    }
}

extern "C" fn run(h: Handle, n: c_ulong) {
    if h.is_null() {
        return;
    }
    let p = unsafe { &mut *(h as *mut Plugin) };
    let nc = p.channels;
    let (audio, ctl) = p.ports.split_at(2 * nc);
    if audio.iter().any(|a| a.is_null()) {
        return;
    }
    let c = |i: usize| control(ctl[i], PORTS[i].default);
    p.inst.set_controls(Settings::from_ports(c(0), c(1), c(2), c(3)));
    let offline = c(4) > 0.0;
    let mut done = 0;
    while done < n as usize {
        let k = (n as usize - done).min(SCRATCH);
        // Hosts may run in place (an output buffer that is also an input): copy the inputs
        // out first, so no input slice aliases an output slice.
        for (src, dst) in audio[..nc].iter().zip(p.scratch.iter_mut()) {
            unsafe { std::ptr::copy(src.add(done), dst.as_mut_ptr(), k) };
        }
        let [s0, s1] = &p.scratch;
        let ins: [&[f32]; 2] = [&s0[..k], &s1[..k]];
        let mut outs: [&mut [f32]; 2] = [&mut [], &mut []];
        for (ch, o) in outs.iter_mut().enumerate().take(nc) {
            *o = unsafe { std::slice::from_raw_parts_mut(audio[nc + ch].add(done), k) };
        }
        p.inst.run(&ins[..nc], &mut outs[..nc], offline);
        done += k;
    }
    let (lat, und) = (ctl[5], ctl[6]);
    if !lat.is_null() {
        unsafe { lat.write_volatile(p.inst.latency() as f32) };
    }
    if !und.is_null() {
        unsafe { und.write_volatile(p.inst.underruns().min(1 << 24) as f32) };
    }
}
