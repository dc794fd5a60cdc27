// Notification events: one pending bit per queue, presented one at a time on evt_* (round robin)
// until the mailbox takes it. A notification for a queue whose event is pending or being
// presented merges into it (counted); one that arrives in the cycle its event is taken sets the
// bit again. A queue reset clears its pending bit; an event already presented is still delivered.
// Between the pending bit and the output register an event passes a one-entry stage (the round-
// robin choice, registered), where it still counts as pending.

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_eng_evt #(
  parameter int unsigned NUM_Q = 4,  // queues, 1..64
  localparam int unsigned QW = (NUM_Q > 1) ? $clog2(NUM_Q) : 1
) (
  input  wire                    clk_i,
  input  wire                    rst_ni,
  input  wire                    notify_i,     // a decision said notify ...
  input  wire  [QW-1:0]          notify_q_i,   // ... for this queue
  input  wire  [NUM_Q-1:0]       clear_i,      // queue reset finished
  input  wire  [NUM_Q-1:0][15:0] q_dev_id_i,
  input  wire  [NUM_Q-1:0][15:0] q_vq_i,
  output logic [NUM_Q-1:0]       merged_o,     // the notification merged
  output logic [NUM_Q-1:0]       pending_o,    // pending bits (not yet presented)
  output logic                   evt_valid_o,
  input  wire                    evt_ready_i,
  output logic [15:0]            evt_dev_id_o,
  output logic [15:0]            evt_vq_o
);

  logic [NUM_Q-1:0] pend_q;
  logic             g_valid_q;   // the event chosen next (pending, not yet presented)
  logic [QW-1:0]    g_q_q;
  logic             out_valid_q;
  logic [QW-1:0]    out_q_q;
  logic [15:0]      out_dev_q, out_vq_q;

  // The round-robin choice is registered before the queue's DEV is looked up: the choice and
  // the wide multiplexer after it would not fit one cycle.
  logic          arb_valid, grant, move, g_clear;
  logic [QW-1:0] arb_q;
  vmsg_eng_rr_arb #(.N(NUM_Q)) u_arb (
    .clk_i, .rst_ni,
    .req_i       (pend_q),
    .take_i      (grant),
    .gnt_valid_o (arb_valid),
    .gnt_idx_o   (arb_q)
  );
  assign grant   = arb_valid && !g_valid_q;
  assign move    = g_valid_q && (!out_valid_q || evt_ready_i);
  assign g_clear = g_valid_q && clear_i[g_q_q];   // reset of its queue: not presented yet

  logic presenting_n;  // the notified queue's event is presented and not taken this cycle
  logic chosen_n;      // ... or chosen and not yet presented
  assign presenting_n = out_valid_q && !evt_ready_i && (out_q_q == notify_q_i);
  assign chosen_n     = g_valid_q && (g_q_q == notify_q_i);

  always_comb begin
    merged_o = '0;
    if (notify_i && (pend_q[notify_q_i] || chosen_n || presenting_n)) merged_o[notify_q_i] = 1'b1;
  end

  logic [NUM_Q-1:0] pend_d;
  always_comb begin
    pend_d = pend_q;
    if (grant) pend_d[arb_q] = 1'b0;
    if (notify_i && !pend_q[notify_q_i] && !chosen_n && !presenting_n) pend_d[notify_q_i] = 1'b1;
    pend_d = pend_d & ~clear_i;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pend_q      <= '0;
      g_valid_q   <= 1'b0;
      g_q_q       <= '0;
      out_valid_q <= 1'b0;
      out_q_q     <= '0;
      out_dev_q   <= '0;
      out_vq_q    <= '0;
    end else begin
      pend_q <= pend_d;
      if (grant) begin
        g_valid_q <= 1'b1;
        g_q_q     <= arb_q;
      end else if (move || g_clear) begin
        g_valid_q <= 1'b0;
      end
      if (move && !g_clear) begin
        out_valid_q <= 1'b1;
        out_q_q     <= g_q_q;
        out_dev_q   <= q_dev_id_i[g_q_q];
        out_vq_q    <= q_vq_i[g_q_q];
      end else if (evt_ready_i) begin
        out_valid_q <= 1'b0;
      end
    end
  end

  // pending: chosen and not yet presented counts
  always_comb begin
    pending_o = pend_q;
    if (g_valid_q) pending_o[g_q_q] = 1'b1;
  end
  assign evt_valid_o  = out_valid_q;
  assign evt_dev_id_o = out_dev_q;
  assign evt_vq_o     = out_vq_q;

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)
  `VMSG_ASSERT(a_evt_stable,
      $past(evt_valid_o && !evt_ready_i) -> evt_valid_o && $stable(evt_dev_id_o)
        && $stable(evt_vq_o),
    ("vmsg_eng_evt: event changed while presented"))
  `VMSG_ASSERT(a_one_place, g_valid_q -> !pend_q[g_q_q],
    ("vmsg_eng_evt: an event both pending and chosen"))
`endif

endmodule

`default_nettype wire
