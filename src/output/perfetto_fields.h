/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one source of the Perfetto protobuf numbers mmlock writes. Each line
 * names its message and field (or enum value) in tests/perfetto/mini.proto,
 * the subset of Perfetto's protos/perfetto/trace/perfetto_trace.proto that
 * protoc decodes our traces with; tests/integration/perfetto_fields.sh checks
 * every number here against it.
 */
#ifndef MMLOCK_PERFETTO_FIELDS_H
#define MMLOCK_PERFETTO_FIELDS_H

#define TRACE_PACKET		1	/* Trace.packet */

#define TP_CLOCK_SNAPSHOT	6	/* TracePacket.clock_snapshot */
#define TP_TIMESTAMP		8	/* TracePacket.timestamp */
#define TP_SEQ_ID		10	/* TracePacket.trusted_packet_sequence_id */
#define TP_TRACK_EVENT		11	/* TracePacket.track_event */
#define TP_SEQ_FLAGS		13	/* TracePacket.sequence_flags */
#define TP_TRACK_DESCRIPTOR	60	/* TracePacket.track_descriptor */
#define TP_FIRST_ON_SEQ		87	/* TracePacket.first_packet_on_sequence */

#define CS_CLOCKS		1	/* ClockSnapshot.clocks */
#define CS_PRIMARY_CLOCK	2	/* ClockSnapshot.primary_trace_clock */
#define CLOCK_ID		1	/* ClockSnapshot.Clock.clock_id */
#define CLOCK_TIMESTAMP		2	/* ClockSnapshot.Clock.timestamp */

#define TD_UUID			1	/* TrackDescriptor.uuid */
#define TD_NAME			2	/* TrackDescriptor.name */
#define TD_PROCESS		3	/* TrackDescriptor.process */
#define TD_THREAD		4	/* TrackDescriptor.thread */
#define TD_PARENT		5	/* TrackDescriptor.parent_uuid */
#define TD_COUNTER		8	/* TrackDescriptor.counter */
#define TD_CHILD_ORDERING	11	/* TrackDescriptor.child_ordering */
#define TD_SIBLING_RANK		12	/* TrackDescriptor.sibling_order_rank */
#define TD_DESCRIPTION		14	/* TrackDescriptor.description */
#define TD_SIBLING_MERGE	15	/* TrackDescriptor.sibling_merge_behavior */

#define PD_PID			1	/* ProcessDescriptor.pid */
#define PD_NAME			6	/* ProcessDescriptor.process_name */

#define THD_PID			1	/* ThreadDescriptor.pid */
#define THD_TID			2	/* ThreadDescriptor.tid */
#define THD_NAME		5	/* ThreadDescriptor.thread_name */

#define CD_UNIT			3	/* CounterDescriptor.unit */
#define CD_UNIT_NAME		6	/* CounterDescriptor.unit_name */
#define CD_Y_AXIS_SHARE_KEY	7	/* CounterDescriptor.y_axis_share_key */

#define TE_ANNOTATION		4	/* TrackEvent.debug_annotations */
#define TE_TYPE			9	/* TrackEvent.type */
#define TE_TRACK_UUID		11	/* TrackEvent.track_uuid */
#define TE_CATEGORY		22	/* TrackEvent.categories */
#define TE_NAME			23	/* TrackEvent.name */
#define TE_COUNTER_VALUE	30	/* TrackEvent.counter_value */
#define TE_DOUBLE_COUNTER_VALUE	44	/* TrackEvent.double_counter_value */
#define TE_FLOW_IDS		47	/* TrackEvent.flow_ids */
#define TE_TERMINATING_FLOW_IDS	48	/* TrackEvent.terminating_flow_ids */

#define DA_BOOL			2	/* DebugAnnotation.bool_value */
#define DA_UINT			3	/* DebugAnnotation.uint_value */
#define DA_INT			4	/* DebugAnnotation.int_value */
#define DA_STRING		6	/* DebugAnnotation.string_value */
#define DA_POINTER		7	/* DebugAnnotation.pointer_value */
#define DA_NAME			10	/* DebugAnnotation.name */
#define DA_DICT			11	/* DebugAnnotation.dict_entries */
#define DA_ARRAY		12	/* DebugAnnotation.array_values */

/* Enum values. */
#define TYPE_SLICE_BEGIN	1	/* TrackEvent.Type.TYPE_SLICE_BEGIN */
#define TYPE_SLICE_END		2	/* TrackEvent.Type.TYPE_SLICE_END */
#define TYPE_INSTANT		3	/* TrackEvent.Type.TYPE_INSTANT */
#define TYPE_COUNTER		4	/* TrackEvent.Type.TYPE_COUNTER */
#define UNIT_TIME_NS		1	/* CounterDescriptor.Unit.UNIT_TIME_NS */
#define UNIT_COUNT		2	/* CounterDescriptor.Unit.UNIT_COUNT */
#define CHILD_ORDER_EXPLICIT	3	/* TrackDescriptor.ChildTracksOrdering.EXPLICIT */
#define MERGE_NONE		2	/* TrackDescriptor.SiblingMergeBehavior.SIBLING_MERGE_BEHAVIOR_NONE */

/*
 * Values of plain uint32 fields in mini.proto (Perfetto's BuiltinClock and
 * TracePacket.SequenceFlags enums, which the subset does not spell out).
 */
#define CLK_REALTIME		1	/* BuiltinClock BUILTIN_CLOCK_REALTIME */
#define CLK_MONOTONIC		3	/* BuiltinClock BUILTIN_CLOCK_MONOTONIC */
#define CLK_BOOTTIME		6	/* BuiltinClock BUILTIN_CLOCK_BOOTTIME */
#define SEQ_INCREMENTAL_STATE_CLEARED 1	/* TracePacket.SequenceFlags SEQ_INCREMENTAL_STATE_CLEARED */
#define SEQ_NEEDS_INCREMENTAL_STATE 2	/* TracePacket.SequenceFlags SEQ_NEEDS_INCREMENTAL_STATE */

/* On-CPU samples as callstack samples (perfetto_samples.c). */
#define TP_INTERNED_DATA	12	/* TracePacket.interned_data */
#define TP_PERF_SAMPLE		66	/* TracePacket.perf_sample */
#define ID_FUNCTION_NAMES	5	/* InternedData.function_names */
#define ID_FRAMES		6	/* InternedData.frames */
#define ID_CALLSTACKS		7	/* InternedData.callstacks */
#define ID_MAPPING_PATHS	17	/* InternedData.mapping_paths */
#define ID_MAPPINGS		19	/* InternedData.mappings */
#define IS_IID			1	/* InternedString.iid */
#define IS_STR			2	/* InternedString.str */
#define MAP_IID			1	/* Mapping.iid */
#define MAP_PATH_STRING_IDS	7	/* Mapping.path_string_ids */
#define FRAME_IID		1	/* Frame.iid */
#define FRAME_FUNCTION_NAME_ID	2	/* Frame.function_name_id */
#define FRAME_MAPPING_ID	3	/* Frame.mapping_id */
#define FRAME_REL_PC		4	/* Frame.rel_pc */
#define CALLSTACK_IID		1	/* Callstack.iid */
#define CALLSTACK_FRAME_IDS	2	/* Callstack.frame_ids */
#define PS_CPU			1	/* PerfSample.cpu */
#define PS_PID			2	/* PerfSample.pid */
#define PS_TID			3	/* PerfSample.tid */
#define PS_CALLSTACK_IID	4	/* PerfSample.callstack_iid */
#define PS_CPU_MODE		5	/* PerfSample.cpu_mode */
#define MODE_KERNEL		1	/* Profiling.CpuMode.MODE_KERNEL */

#endif
