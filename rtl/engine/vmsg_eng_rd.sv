// Read path and notification decision. After a used->idx write got OKAY, its queue asks for a
// decision read: avail->flags (u16 at avail) without EVENT_IDX, used_event (u16 at
// avail + 4 + 2 * size) with EVENT_IDX. Reads use one AXI ID, so R data returns in issue order
// and one FIFO tracks them; a queue's decisions are therefore made in the order of its used->idx
// writes. Decision (virtio 1.x, split ring):
//   without EVENT_IDX: notify unless flags & VRING_AVAIL_F_NO_INTERRUPT;
//   with EVENT_IDX:    notify when (u16)(new - used_event - 1) < (u16)(new - old),
// where new is the published idx and old the idx of the queue's previous decision.

`default_nettype none

module vmsg_eng_rd #(
  parameter int unsigned NUM_Q          = 4,   // queues, 1..64
  parameter int unsigned AW             = 32,  // AXI address width
  parameter int unsigned DW             = 64,  // AXI data width
  parameter int unsigned IDW            = 4,   // AXI ID width
  parameter int unsigned RD_OUTSTANDING = 8,   // read transactions in flight, power of two
  localparam int unsigned QW = (NUM_Q > 1) ? $clog2(NUM_Q) : 1
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  // queue state
  input  wire  [NUM_Q-1:0]         q_rd_req_i,     // decision read wanted
  input  wire  [NUM_Q-1:0]         q_evidx_i,
  input  wire  [NUM_Q-1:0]         q_resetting_i,
  input  wire  [NUM_Q-1:0][AW-1:0] q_avail_i,
  input  wire  [NUM_Q-1:0][4:0]    q_size_log2_i,
  input  wire  [NUM_Q-1:0][15:0]   q_vis_i,        // published idx (the decision's new)
  input  wire  [NUM_Q-1:0][15:0]   q_old_i,
  // events to the queues
  output logic                     ar_take_o,      // decision read issued
  output logic [QW-1:0]            ar_q_o,
  output logic                     r_o,            // read response consumed
  output logic [QW-1:0]            r_q_o,
  output logic                     dec_o,          // decision made
  output logic [15:0]              dec_new_o,
  output logic                     dec_notify_o,
  output logic                     rerr_o,         // read failed
  output logic [AW-1:0]            rerr_addr_o,
  // AXI4 read channels
  output logic [IDW-1:0]           m_axi_arid,
  output logic [AW-1:0]            m_axi_araddr,
  output logic [7:0]               m_axi_arlen,
  output logic [2:0]               m_axi_arsize,
  output logic [1:0]               m_axi_arburst,
  output logic                     m_axi_arlock,
  output logic [3:0]               m_axi_arcache,
  output logic [2:0]               m_axi_arprot,
  output logic                     m_axi_arvalid,
  input  wire                      m_axi_arready,
  input  wire  [IDW-1:0]           m_axi_rid,
  input  wire  [DW-1:0]            m_axi_rdata,
  input  wire  [1:0]               m_axi_rresp,
  input  wire                      m_axi_rlast,
  input  wire                      m_axi_rvalid,
  output logic                     m_axi_rready
);

  localparam int unsigned S  = $clog2(DW / 8);
  localparam int unsigned TW = QW + 16 + 1 + AW;  // tracker: queue, new, EVENT_IDX, address

  // ---------------------------------------------------------------------------------------
  // issue
  logic          arb_valid;
  logic [QW-1:0] arb_q;
  logic          trk_full, trk_empty, load;
  vmsg_eng_rr_arb #(.N(NUM_Q)) u_arb (
    .clk_i, .rst_ni,
    .req_i       (q_rd_req_i),
    .take_i      (load),
    .gnt_valid_o (arb_valid),
    .gnt_idx_o   (arb_q)
  );
  assign load = arb_valid && (!m_axi_arvalid || m_axi_arready) && !trk_full;

  logic [AW-1:0] rd_addr;
  assign rd_addr = q_evidx_i[arb_q]
      ? q_avail_i[arb_q] + AW'(4) + AW'(17'd2 << q_size_log2_i[arb_q])
      : q_avail_i[arb_q];

  logic [0:0][TW-1:0] trk_head;
  logic [$clog2(RD_OUTSTANDING + 1)-1:0] trk_count;
  vmsg_eng_fifo #(.WIDTH(TW), .DEPTH(RD_OUTSTANDING), .NRD(1)) u_trk (
    .clk_i, .rst_ni,
    .push_i  (load),
    .wdata_i ({arb_q, q_vis_i[arb_q], q_evidx_i[arb_q], rd_addr}),
    .pop_i   (m_axi_rvalid && !trk_empty),
    .rdata_o (trk_head),
    .count_o (trk_count),
    .full_o  (trk_full),
    .empty_o (trk_empty)
  );

  assign ar_take_o = load;
  assign ar_q_o    = arb_q;

  logic          arvalid_q;
  logic [AW-1:0] araddr_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      arvalid_q <= 1'b0;
      araddr_q  <= '0;
    end else if (load) begin
      arvalid_q <= 1'b1;
      araddr_q  <= rd_addr;
    end else if (m_axi_arready) begin
      arvalid_q <= 1'b0;
    end
  end

  assign m_axi_arid    = '0;
  assign m_axi_araddr  = araddr_q;
  assign m_axi_arlen   = 8'd0;
  assign m_axi_arsize  = 3'd1;       // 2 bytes
  assign m_axi_arburst = 2'b01;
  assign m_axi_arlock  = 1'b0;
  assign m_axi_arcache = 4'b0010;
  assign m_axi_arprot  = 3'b000;
  assign m_axi_arvalid = arvalid_q;

  // ---------------------------------------------------------------------------------------
  // responses and decision
  logic [QW-1:0] t_q;
  logic [15:0]   t_new;
  logic          t_evidx;
  logic [AW-1:0] t_addr;
  assign {t_q, t_new, t_evidx, t_addr} = trk_head[0];

  logic [15:0] val;
  assign val = 16'(m_axi_rdata >> {t_addr[S-1:0], 3'b000});

  logic r_hs, r_ok, notify;
  assign m_axi_rready = 1'b1;
  assign r_hs   = m_axi_rvalid && !trk_empty;
  assign r_ok   = !m_axi_rresp[1];
  assign notify = t_evidx ? (16'(t_new - val - 16'd1) < 16'(t_new - q_old_i[t_q])) : !val[0];

  assign r_o          = r_hs;
  assign r_q_o        = t_q;
  assign dec_o        = r_hs && r_ok && !q_resetting_i[t_q];
  assign dec_new_o    = t_new;
  assign dec_notify_o = notify;
  assign rerr_o       = r_hs && !r_ok && !q_resetting_i[t_q];
  assign rerr_addr_o  = t_addr;

  logic unused_rd;
  assign unused_rd = ^{m_axi_rid, m_axi_rlast, m_axi_rresp[0], trk_count};

`ifndef SYNTHESIS
  // assertions start one cycle after reset
  logic sva_en_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) sva_en_q <= 1'b0;
    else         sva_en_q <= 1'b1;
  end
  a_ar_stable: assert property (@(posedge clk_i) disable iff (!sva_en_q)
    m_axi_arvalid && !m_axi_arready |=> m_axi_arvalid && $stable(m_axi_araddr))
    else $error("vmsg_eng_rd: AR changed while waiting");
  a_r_expected: assert property (@(posedge clk_i) disable iff (!sva_en_q) m_axi_rvalid |-> !trk_empty)
    else $error("vmsg_eng_rd: R data without an outstanding read");
`endif

endmodule

`default_nettype wire
