// Completion ingress: the stream port (through a 2-entry input buffer, so that s_cpl_ready_o
// comes from a register), the firmware completion FIFO (filled by CPL_PUSH), round-robin choice
// between the two, the queue checks, ring index assignment, the element FIFO push (id, len) and
// the push of the element's queue and ring index to the piece stage (vmsg_eng_piece), which
// computes its address.
//
// A completion for a queue that is disabled, in error or being reset, or (stream only) whose
// queue number is >= NUM_Q, is dropped and counted. A completion for an enabled queue that
// already has ring-size completions accepted and not yet published waits (the device cannot have
// more buffers outstanding than the ring holds); the other source may pass it meanwhile.
//
// Timing: each source has a head register in front of the decision, holding the completion with
// its queue number decoded (one-hot) and checked against NUM_Q; the decision combines it with
// per-queue flags that are registers (q_cpl_ok_i, q_cpl_drop_i) and with a registered flag
// saying both FIFOs downstream have room. An accepted element is written into the FIFOs in the
// next cycle (from registers); the room flag counts that write and the one being decided, and
// ignores pops (at most one entry of room is seen a cycle late).

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_eng_ingress #(
  parameter int unsigned NUM_Q          = 4,   // queues, 1..64
  parameter int unsigned CPL_FIFO_DEPTH = 8,   // firmware completion FIFO entries, power of two
  localparam int unsigned QW  = (NUM_Q > 1) ? $clog2(NUM_Q) : 1,  // queue number width
  localparam int unsigned FCW = $clog2(CPL_FIFO_DEPTH + 1)
) (
  input  wire                        clk_i,
  input  wire                        rst_ni,
  // stream port
  input  wire                        s_cpl_valid_i,
  output logic                       s_cpl_ready_o,
  input  wire  [QW-1:0]              s_cpl_queue_i,
  input  wire  [31:0]                s_cpl_id_i,
  input  wire  [31:0]                s_cpl_len_i,
  // firmware path (CPL_PUSH), queue already checked by the register block
  input  wire                        fw_push_i,
  input  wire  [5:0]                 fw_queue_i,
  input  wire  [31:0]                fw_id_i,
  input  wire  [31:0]                fw_len_i,
  output logic                       fw_full_o,
  output logic [FCW-1:0]             fw_count_o,
  // queue state
  input  wire  [NUM_Q-1:0]           q_cpl_ok_i,    // a completion would be accepted
  input  wire  [NUM_Q-1:0]           q_cpl_drop_i,  // a completion would be dropped
  input  wire  [NUM_Q-1:0][15:0]     q_acc_i,
  // per-queue strobes
  output logic [NUM_Q-1:0]           acc_o,      // completion accepted
  output logic [NUM_Q-1:0]           drop_o,     // completion dropped (queue not accepting)
  output logic                       bad_q_o,    // stream completion with queue >= NUM_Q dropped
  // element data (id, len) into the element FIFO
  output logic                       elem_push_o,
  output logic [63:0]                elem_data_o,
  input  wire  [2:0]                 elem_room_i,    // element FIFO: [k] = at least k+1 entries free
  // accepted element (queue, ring index) to the piece stage
  output logic                       e_push_o,
  output logic [QW-1:0]              e_q_o,
  output logic [15:0]                e_idx_o,    // ring index (u16) of the element
  input  wire  [2:0]                 e_room_i        // piece FIFO: [k] = at least k+1 entries free
);

  // elaboration-time parameter checks
  if (NUM_Q < 1 || NUM_Q > 64) begin : g_param_err0
    $fatal(1, "vmsg_eng_ingress: NUM_Q must be 1..64");
  end

  // a completion waiting in an input buffer
  typedef struct packed {
    logic [5:0]  q;      // queue as given (checked against NUM_Q at the head)
    logic [31:0] len;
    logic [31:0] id;
  } cpl_t;
  localparam int unsigned CW = $bits(cpl_t);

  cpl_t s_cpl, fw_cpl;
  assign s_cpl  = '{q: 6'(s_cpl_queue_i), len: s_cpl_len_i, id: s_cpl_id_i};
  assign fw_cpl = '{q: fw_queue_i, len: fw_len_i, id: fw_id_i};

  // stream input buffer
  logic [0:0][CW-1:0] sb_data;
  logic [1:0]         sb_count;
  logic               sb_full, sb_empty, sb_pop;
  vmsg_eng_fifo #(.WIDTH(CW), .DEPTH(2), .NRD(1)) u_sbuf (
    .clk_i, .rst_ni,
    .push_i  (s_cpl_valid_i && !sb_full),
    .wdata_i (s_cpl),
    .pop_i   (sb_pop),
    .rdata_o (sb_data),
    .count_o (sb_count),
    .full_o  (sb_full),
    .empty_o (sb_empty)
  );
  assign s_cpl_ready_o = !sb_full;

  // firmware FIFO
  logic [0:0][CW-1:0] fb_data;
  logic               fb_empty, fb_pop;
  vmsg_eng_fifo #(.WIDTH(CW), .DEPTH(CPL_FIFO_DEPTH), .NRD(1)) u_fbuf (
    .clk_i, .rst_ni,
    .push_i  (fw_push_i),
    .wdata_i (fw_cpl),
    .pop_i   (fb_pop),
    .rdata_o (fb_data),
    .count_o (fw_count_o),
    .full_o  (fw_full_o),
    .empty_o (fb_empty)
  );

  // ---------------------------------------------------------------------------------------
  // head registers: [0] stream, [1] firmware
  logic [1:0]                  h_valid_q, h_bad_q, h_load, h_pop, src_empty;
  logic [1:0][QW-1:0]          h_q_q;
  logic [1:0][NUM_Q-1:0]       h_oh_q;
  logic [1:0][63:0]            h_data_q;
  cpl_t [1:0]                  src_data;
  assign src_empty = {fb_empty, sb_empty};
  assign src_data  = {fb_data[0], sb_data[0]};
  assign sb_pop    = h_load[0];
  assign fb_pop    = h_load[1];

  for (genvar k = 0; k < 2; k++) begin : g_head
    logic [5:0] sq;
    assign sq        = src_data[k].q;
    assign h_load[k] = !src_empty[k] && (!h_valid_q[k] || h_pop[k]);
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        h_valid_q[k] <= 1'b0;
        h_bad_q[k]   <= 1'b0;
        h_q_q[k]     <= '0;
        h_oh_q[k]    <= '0;
        h_data_q[k]  <= '0;
      end else if (h_load[k]) begin
        h_valid_q[k] <= 1'b1;
        h_bad_q[k]   <= (32'(sq) >= NUM_Q);
        h_q_q[k]     <= QW'(sq);
        h_oh_q[k]    <= (32'(sq) >= NUM_Q) ? '0 : NUM_Q'(1) << sq;
        h_data_q[k]  <= {src_data[k].len, src_data[k].id};
      end else if (h_pop[k]) begin
        h_valid_q[k] <= 1'b0;
      end
    end
  end

  // ---------------------------------------------------------------------------------------
  // what each head would do this cycle: move (accept, drop, or bad queue) or wait
  logic free_q;   // both FIFOs can take an element accepted this cycle

  // room for the writes still to come: n = pending + now (0..2) more entries, plus one
  function automatic logic room(logic [2:0] free_at_least, logic pending, logic now);
    logic [1:0] n;
    n = 2'(pending) + 2'(now);
    return free_at_least[n];
  endfunction
  logic [1:0] h_drop, h_acc, h_can;
  for (genvar k = 0; k < 2; k++) begin : g_act
    // (a head with a bad queue number has no bit set in h_oh_q)
    assign h_drop[k] = h_valid_q[k] && |(h_oh_q[k] & q_cpl_drop_i);
    assign h_acc[k]  = h_valid_q[k] && free_q && |(h_oh_q[k] & q_cpl_ok_i);
    assign h_can[k]  = (h_valid_q[k] && h_bad_q[k]) || h_drop[k] || h_acc[k];
  end

  // round robin between the two heads among those that can move
  logic last_fw_q;  // the firmware head moved last
  logic pick_fw;
  assign h_pop[0] = h_can[0] && (!h_can[1] || last_fw_q);
  assign h_pop[1] = h_can[1] && (!h_can[0] || !last_fw_q);
  assign pick_fw  = h_pop[1];

  logic accept;
  assign accept  = (h_pop[0] && h_acc[0]) || (h_pop[1] && h_acc[1]);
  assign acc_o   = (h_pop[0] && h_acc[0]) ? h_oh_q[0] : (h_pop[1] && h_acc[1]) ? h_oh_q[1] : '0;
  assign drop_o  = (h_pop[0] && h_drop[0]) ? h_oh_q[0] : (h_pop[1] && h_drop[1]) ? h_oh_q[1] : '0;
  assign bad_q_o = h_pop[0] && h_bad_q[0];

  // ring index: the queue's acc, looked up for both heads before the choice
  logic [15:0] s_idx, f_idx;
  assign s_idx    = q_acc_i[h_q_q[0]];
  assign f_idx    = q_acc_i[h_q_q[1]];
  // the accepted element, written into both FIFOs in the next cycle
  logic          wr_v_q;
  logic [63:0]   wr_data_q;
  logic [QW-1:0] wr_q_q;
  logic [15:0]   wr_idx_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_v_q    <= 1'b0;
      wr_data_q <= '0;
      wr_q_q    <= '0;
      wr_idx_q  <= '0;
    end else begin
      wr_v_q    <= accept;
      wr_data_q <= pick_fw ? h_data_q[1] : h_data_q[0];
      wr_q_q    <= pick_fw ? h_q_q[1] : h_q_q[0];
      wr_idx_q  <= pick_fw ? f_idx : s_idx;
    end
  end
  assign elem_push_o = wr_v_q;
  assign elem_data_o = wr_data_q;
  assign e_push_o    = wr_v_q;
  assign e_q_o       = wr_q_q;
  assign e_idx_o     = wr_idx_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      last_fw_q <= 1'b0;
      free_q    <= 1'b0;
    end else begin
      if (h_pop[0] || h_pop[1]) last_fw_q <= pick_fw;
      // entries needed after this cycle: the write of this cycle (wr_v_q) and the accept now
      free_q <= room(elem_room_i, wr_v_q, accept) && room(e_room_i, wr_v_q, accept);
    end
  end

  logic unused_ingress;
  assign unused_ingress = ^{sb_count};

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)
  // input rules: the register block pushes a firmware completion only for an existing queue
  // and only when the FIFO has room; a queue never both accepts and drops; the room flags are
  // those of the two FIFOs that only this block fills (thermometer code, and the free count
  // falls by at most the one entry this block writes in a cycle)
  `VMSG_ASSUME(a_fw_queue, fw_push_i -> 32'(fw_queue_i) < NUM_Q,
    ("vmsg_eng_ingress: firmware completion for queue %0d >= NUM_Q", fw_queue_i))
  `VMSG_ASSUME(a_fw_room, fw_push_i -> !fw_full_o,
    ("vmsg_eng_ingress: firmware completion pushed into a full FIFO"))
  `VMSG_ASSUME(a_ok_drop, (q_cpl_ok_i & q_cpl_drop_i) == '0,
    ("vmsg_eng_ingress: a queue both accepts and drops"))
  // a room flag set: a thermometer code; after a cycle in which the block wrote `pushed`
  // entries (0 or 1) at most that many entries of room are gone
  function automatic logic room_code(logic [2:0] r);
    return (!r[2] || r[1]) && (!r[1] || r[0]);
  endfunction
  function automatic logic room_kept(logic [2:0] prev, logic [2:0] cur, logic pushed);
    // room that must still be there: all of it without a write, one entry less in any case
    return ((((pushed ? 3'b000 : prev) | (prev >> 1)) & ~cur) == 3'b000);
  endfunction
  `VMSG_ASSUME(a_room_code, room_code(elem_room_i) && room_code(e_room_i),
    ("vmsg_eng_ingress: room flags are not a thermometer code"))
  `VMSG_ASSUME(a_room_fill, room_kept($past(elem_room_i), elem_room_i, $past(elem_push_o))
                            && room_kept($past(e_room_i), e_room_i, $past(e_push_o)),
    ("vmsg_eng_ingress: a FIFO lost room it was not written"))

  // what the block guarantees
  `VMSG_ASSERT(a_free, wr_v_q -> elem_room_i[0] && e_room_i[0],
    ("vmsg_eng_ingress: element written into a full FIFO"))
  `VMSG_ASSERT(a_one_move, ((acc_o & (acc_o - 1'b1)) == '0) && ((drop_o & (drop_o - 1'b1)) == '0)
                           && (32'(|acc_o) + 32'(|drop_o) + 32'(bad_q_o) <= 1),
    ("vmsg_eng_ingress: more than one completion moved in a cycle"))
  `VMSG_ASSERT(a_acc_ok, (acc_o & ~q_cpl_ok_i) == '0 && (drop_o & ~q_cpl_drop_i) == '0,
    ("vmsg_eng_ingress: a completion accepted or dropped against its queue's state"))
  `VMSG_ASSERT(a_elem_queue, $past(acc_o) != '0 -> e_push_o && elem_push_o
                             && $past(acc_o) == (NUM_Q'(1) << e_q_o),
    ("vmsg_eng_ingress: the element pushed is not that of the queue accepted"))
  `VMSG_ASSERT(a_push_acc, e_push_o -> $past(acc_o) != '0,
    ("vmsg_eng_ingress: an element pushed that was not accepted"))
  for (genvar q = 0; q < NUM_Q; q++) begin : g_sva_q
    `VMSG_ASSERT(a_elem_idx, $past(acc_o[q]) -> e_idx_o == $past(q_acc_i[q]),
      ("vmsg_eng_ingress: queue %0d's element has ring index %0d, not its acc", q, e_idx_o))
  end
  for (genvar k = 0; k < 2; k++) begin : g_sva_head
    `VMSG_ASSERT(a_head_code, h_valid_q[k] -> (h_bad_q[k] ? h_oh_q[k] == '0
                                                          : h_oh_q[k] == (NUM_Q'(1) << h_q_q[k])),
      ("vmsg_eng_ingress: head %0d's one-hot queue does not match its queue number", k))
  end
  // round robin: the source that did not move last goes first
  `VMSG_ASSERT(a_rr_fw, $past(h_pop[0]) && h_can[1] -> h_pop[1],
    ("vmsg_eng_ingress: the firmware completion waited behind a second stream completion"))
  `VMSG_ASSERT(a_rr_stream, $past(h_pop[1]) && h_can[0] -> h_pop[0],
    ("vmsg_eng_ingress: the stream completion waited behind a second firmware completion"))
`endif

endmodule

`default_nettype wire
