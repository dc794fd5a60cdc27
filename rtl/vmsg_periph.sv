// virtio-msg mailbox + doorbell peripheral with a vring used-index engine
// (docs/architecture.md). Two AXI4-Lite register ports, one per side of the
// AMP system, each with its PeakRDL register block; a mailbox per direction;
// the doorbells; the used-index engine with its completion stream and AXI4
// master into the driver's memory.

`default_nettype none

module vmsg_periph
  import vmsg_pkg::*;
#(
  parameter int unsigned HDR_FORMAT   = 0,   // wire format: 0 the 6-byte header (seed, RFC July 2025),
                                             // 1 the 8-byte header with token (spec draft, 2026 kernel)
  parameter int unsigned MSG_SIZE     = 64,  // message slot size in bytes: multiple of 4, 44..256
                                             // (48..256 with the 8-byte header)
  parameter int unsigned TO_DEV_DEPTH = 8,   // messages the driver -> device FIFO holds: 2..255
  parameter int unsigned TO_DRV_DEPTH = 8,   // messages the device -> driver FIFO holds: 2..255
  parameter int unsigned NUM_DEVS     = 8,   // device numbers with doorbells: 1..255
  parameter int unsigned NUM_VQS      = 4,   // virtqueues per device with doorbells: 1..255,
                                             // NUM_DEVS * NUM_VQS <= 1024
  parameter int unsigned ENG_QUEUES   = 8,   // used-index engine queues: 1..64
  parameter int unsigned AXI_DATA_W   = 64,  // engine AXI4 master data width: 32..1024, power of 2
  parameter int unsigned AXI_ADDR_W   = 32,  // engine AXI4 master address width: 32..64
  parameter int unsigned AXI_ID_W     = 4,   // engine AXI4 master id width: 1..32
  parameter logic [31:0] AXI_ID       = '0,  // engine AWID / ARID (< 2^AXI_ID_W); an AXI3 target's WID is this too
  parameter logic [3:0]  AXI_CACHE    = 4'b0010, // engine AWCACHE / ARCACHE: normal, non-cacheable, non-bufferable
  parameter logic [2:0]  AXI_PROT     = 3'b000,  // engine AWPROT / ARPROT: unprivileged, secure, data
  parameter int unsigned MAX_BURST_BEATS = 256,  // engine's longest element burst, 2..256 (16 for an AXI3 target)
  parameter int unsigned MEM_TIMEOUT  = 65536, // reset value of the engine's TIMEOUT register (cycles, 0 = never)
  // derived: width of the completion stream's queue number
  localparam int unsigned CPL_Q_W     = (ENG_QUEUES > 1) ? $clog2(ENG_QUEUES) : 1
) (
  input  wire logic                    clk_i,
  input  wire logic                    rst_ni,

  // ---- driver port: AXI4-Lite slave and interrupt ----
  input  wire logic [15:0]             s_drv_axil_awaddr,
  input  wire logic [2:0]              s_drv_axil_awprot,
  input  wire logic                    s_drv_axil_awvalid,
  output      logic                    s_drv_axil_awready,
  input  wire logic [31:0]             s_drv_axil_wdata,
  input  wire logic [3:0]              s_drv_axil_wstrb,
  input  wire logic                    s_drv_axil_wvalid,
  output      logic                    s_drv_axil_wready,
  output      logic [1:0]              s_drv_axil_bresp,
  output      logic                    s_drv_axil_bvalid,
  input  wire logic                    s_drv_axil_bready,
  input  wire logic [15:0]             s_drv_axil_araddr,
  input  wire logic [2:0]              s_drv_axil_arprot,
  input  wire logic                    s_drv_axil_arvalid,
  output      logic                    s_drv_axil_arready,
  output      logic [31:0]             s_drv_axil_rdata,
  output      logic [1:0]              s_drv_axil_rresp,
  output      logic                    s_drv_axil_rvalid,
  input  wire logic                    s_drv_axil_rready,
  output      logic                    drv_irq_o,

  // ---- device port: AXI4-Lite slave and interrupt ----
  input  wire logic [15:0]             s_dev_axil_awaddr,
  input  wire logic [2:0]              s_dev_axil_awprot,
  input  wire logic                    s_dev_axil_awvalid,
  output      logic                    s_dev_axil_awready,
  input  wire logic [31:0]             s_dev_axil_wdata,
  input  wire logic [3:0]              s_dev_axil_wstrb,
  input  wire logic                    s_dev_axil_wvalid,
  output      logic                    s_dev_axil_wready,
  output      logic [1:0]              s_dev_axil_bresp,
  output      logic                    s_dev_axil_bvalid,
  input  wire logic                    s_dev_axil_bready,
  input  wire logic [15:0]             s_dev_axil_araddr,
  input  wire logic [2:0]              s_dev_axil_arprot,
  input  wire logic                    s_dev_axil_arvalid,
  output      logic                    s_dev_axil_arready,
  output      logic [31:0]             s_dev_axil_rdata,
  output      logic [1:0]              s_dev_axil_rresp,
  output      logic                    s_dev_axil_rvalid,
  input  wire logic                    s_dev_axil_rready,
  output      logic                    dev_irq_o,

  // ---- completion stream from hardware back ends (device side) ----
  input  wire logic                    s_cpl_valid,
  output      logic                    s_cpl_ready,
  input  wire logic [CPL_Q_W-1:0]      s_cpl_queue,
  input  wire logic [31:0]             s_cpl_id,
  input  wire logic [31:0]             s_cpl_len,

  // ---- AXI4 master of the used-index engine (driver memory) ----
  output      logic [AXI_ID_W-1:0]     m_axi_awid,
  output      logic [AXI_ADDR_W-1:0]   m_axi_awaddr,
  output      logic [7:0]              m_axi_awlen,
  output      logic [2:0]              m_axi_awsize,
  output      logic [1:0]              m_axi_awburst,
  output      logic                    m_axi_awlock,
  output      logic [3:0]              m_axi_awcache,
  output      logic [2:0]              m_axi_awprot,
  output      logic                    m_axi_awvalid,
  input  wire logic                    m_axi_awready,
  output      logic [AXI_DATA_W-1:0]   m_axi_wdata,
  output      logic [AXI_DATA_W/8-1:0] m_axi_wstrb,
  output      logic                    m_axi_wlast,
  output      logic                    m_axi_wvalid,
  input  wire logic                    m_axi_wready,
  input  wire logic [AXI_ID_W-1:0]     m_axi_bid,
  input  wire logic [1:0]              m_axi_bresp,
  input  wire logic                    m_axi_bvalid,
  output      logic                    m_axi_bready,
  output      logic [AXI_ID_W-1:0]     m_axi_arid,
  output      logic [AXI_ADDR_W-1:0]   m_axi_araddr,
  output      logic [7:0]              m_axi_arlen,
  output      logic [2:0]              m_axi_arsize,
  output      logic [1:0]              m_axi_arburst,
  output      logic                    m_axi_arlock,
  output      logic [3:0]              m_axi_arcache,
  output      logic [2:0]              m_axi_arprot,
  output      logic                    m_axi_arvalid,
  input  wire logic                    m_axi_arready,
  input  wire logic [AXI_ID_W-1:0]     m_axi_rid,
  input  wire logic [AXI_DATA_W-1:0]   m_axi_rdata,
  input  wire logic [1:0]              m_axi_rresp,
  input  wire logic                    m_axi_rlast,
  input  wire logic                    m_axi_rvalid,
  output      logic                    m_axi_rready
);

  import vmsg_drv_regs_pkg::*;
  import vmsg_dev_regs_pkg::*;

  // ---------------------------------------------------------------------------
  // Parameter checks (elaboration time)
  // ---------------------------------------------------------------------------
  if (HDR_FORMAT != HDR_SEED6 && HDR_FORMAT != HDR_HDR8) begin : g_bad_hdr_format
    $fatal(1, "vmsg_periph: HDR_FORMAT %0d must be 0 (6-byte header) or 1 (8-byte header with token)",
           HDR_FORMAT);
  end
  // Slots are whole 32-bit words: a MSG_SIZE that is not a multiple of 4 (such as the 2026
  // kernel's minimum 50) is refused; 52 is the smallest slot such a kernel accepts.
  if (MSG_SIZE % 4 != 0) begin : g_bad_msg_size_align
    $fatal(1, "vmsg_periph: MSG_SIZE %0d is not a multiple of 4 (slots are 32-bit words; %0s",
           MSG_SIZE, "a kernel that needs 50 or more takes 52)");
  end
  if (MSG_SIZE < slot_min(HDR_FORMAT) || MSG_SIZE > VMSG_MAX_SLOT) begin : g_bad_msg_size
    $fatal(1, "vmsg_periph: MSG_SIZE %0d must be %0d..256 with the %0d-byte header (HDR_FORMAT %0d)",
           MSG_SIZE, slot_min(HDR_FORMAT), hdr_bytes(HDR_FORMAT), HDR_FORMAT);
  end
  if (TO_DEV_DEPTH < 2 || TO_DEV_DEPTH > 255 || TO_DRV_DEPTH < 2 || TO_DRV_DEPTH > 255) begin : g_bad_depth
    $fatal(1, "vmsg_periph: TO_DEV_DEPTH %0d and TO_DRV_DEPTH %0d must be 2..255",
           TO_DEV_DEPTH, TO_DRV_DEPTH);
  end
  if (NUM_DEVS < 1 || NUM_DEVS > 255 || NUM_VQS < 1 || NUM_VQS > 255
      || NUM_DEVS * NUM_VQS > 1024) begin : g_bad_doorbells
    $fatal(1, "vmsg_periph: NUM_DEVS %0d and NUM_VQS %0d must be 1..255 with a product <= 1024",
           NUM_DEVS, NUM_VQS);
  end
  if (ENG_QUEUES < 1 || ENG_QUEUES > 64) begin : g_bad_eng_queues
    $fatal(1, "vmsg_periph: ENG_QUEUES %0d must be 1..64", ENG_QUEUES);
  end
  if (AXI_DATA_W < 32 || AXI_DATA_W > 1024 || (AXI_DATA_W & (AXI_DATA_W - 1)) != 0) begin : g_bad_data_w
    $fatal(1, "vmsg_periph: AXI_DATA_W %0d must be a power of 2 in 32..1024", AXI_DATA_W);
  end
  if (AXI_ADDR_W < 32 || AXI_ADDR_W > 64) begin : g_bad_addr_w
    $fatal(1, "vmsg_periph: AXI_ADDR_W %0d must be 32..64", AXI_ADDR_W);
  end
  if (AXI_ID_W < 1 || AXI_ID_W > 32) begin : g_bad_id_w
    $fatal(1, "vmsg_periph: AXI_ID_W %0d must be 1..32", AXI_ID_W);
  end
  // The register maps must be as large as docs/architecture.md says (vmsg_port
  // checks their data width and that they fit its 16-bit address).
  if (VMSG_DRV_REGS_SIZE < 'h300 || VMSG_DEV_REGS_SIZE < 'h4000) begin : g_bad_regs_size
    $fatal(1, "vmsg_periph: register maps are smaller than docs/architecture.md says");
  end

  // ---------------------------------------------------------------------------
  // The two register ports: AXI4-Lite front end, register block, interrupt
  // ---------------------------------------------------------------------------
  // the flat AXI4-Lite ports of the top level as the ports' request / response records (the
  // concatenations list axil_rsp_t's fields in their order)
  axil_req_t drv_axil_req, dev_axil_req;
  axil_rsp_t drv_axil_rsp, dev_axil_rsp;
  assign drv_axil_req = '{
    awaddr: s_drv_axil_awaddr, awprot: s_drv_axil_awprot, awvalid: s_drv_axil_awvalid,
    wdata: s_drv_axil_wdata, wstrb: s_drv_axil_wstrb, wvalid: s_drv_axil_wvalid,
    bready: s_drv_axil_bready, araddr: s_drv_axil_araddr, arprot: s_drv_axil_arprot,
    arvalid: s_drv_axil_arvalid, rready: s_drv_axil_rready};
  assign dev_axil_req = '{
    awaddr: s_dev_axil_awaddr, awprot: s_dev_axil_awprot, awvalid: s_dev_axil_awvalid,
    wdata: s_dev_axil_wdata, wstrb: s_dev_axil_wstrb, wvalid: s_dev_axil_wvalid,
    bready: s_dev_axil_bready, araddr: s_dev_axil_araddr, arprot: s_dev_axil_arprot,
    arvalid: s_dev_axil_arvalid, rready: s_dev_axil_rready};
  assign {s_drv_axil_awready, s_drv_axil_wready, s_drv_axil_bresp, s_drv_axil_bvalid,
          s_drv_axil_arready, s_drv_axil_rdata, s_drv_axil_rresp, s_drv_axil_rvalid} = drv_axil_rsp;
  assign {s_dev_axil_awready, s_dev_axil_wready, s_dev_axil_bresp, s_dev_axil_bvalid,
          s_dev_axil_arready, s_dev_axil_rdata, s_dev_axil_rresp, s_dev_axil_rvalid} = dev_axil_rsp;

  vmsg_drv_regs__in_t  drv_hwif_in;
  vmsg_drv_regs__out_t drv_hwif_out;
  logic                drv_ext_err;
  vmsg_dev_regs__in_t  dev_hwif_in;
  vmsg_dev_regs__out_t dev_hwif_out;
  logic                dev_ext_err;

  vmsg_port #(
    .DEV_PORT   (1'b0),
    .hwif_in_t  (vmsg_drv_regs__in_t),
    .hwif_out_t (vmsg_drv_regs__out_t)
  ) u_drv_port (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .s_axil_req_i   (drv_axil_req),
    .s_axil_rsp_o   (drv_axil_rsp),
    .hwif_in_i      (drv_hwif_in),
    .hwif_out_o     (drv_hwif_out),
    .ext_err_i      (drv_ext_err),
    .irq_o          (drv_irq_o)
  );

  vmsg_port #(
    .DEV_PORT   (1'b1),
    .hwif_in_t  (vmsg_dev_regs__in_t),
    .hwif_out_t (vmsg_dev_regs__out_t)
  ) u_dev_port (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .s_axil_req_i   (dev_axil_req),
    .s_axil_rsp_o   (dev_axil_rsp),
    .hwif_in_i      (dev_hwif_in),
    .hwif_out_o     (dev_hwif_out),
    .ext_err_i      (dev_ext_err),
    .irq_o          (dev_irq_o)
  );

  // ---------------------------------------------------------------------------
  // Mailbox driver -> device (driver writes TX, device reads RX)
  // ---------------------------------------------------------------------------
  logic        d2v_tx_ctrl_ack, d2v_tx_ctrl_err;
  logic        d2v_tx_win_rd_ack, d2v_tx_win_wr_ack, d2v_tx_win_err;
  logic [8:0]  d2v_tx_count, d2v_tx_staged_len;
  logic        d2v_tx_full;
  logic [3:0]  d2v_tx_err_code;
  logic        d2v_tx_accepted, d2v_tx_overflow, d2v_tx_doorbell, d2v_tx_err_irq;
  logic [6:1]  d2v_tx_rej;
  logic        d2v_rx_ctrl_ack, d2v_rx_ctrl_err;
  logic        d2v_rx_win_rd_ack, d2v_rx_win_wr_ack, d2v_rx_win_err;
  logic [31:0] d2v_rx_win_rdata;
  logic [8:0]  d2v_rx_count, d2v_rx_head_len;
  logic        d2v_rx_empty, d2v_rx_popped, d2v_rx_underflow, d2v_rx_msg_irq;
  logic        kick_valid;
  logic [15:0] kick_dev, kick_vq;
  logic [31:0] kick_data;
  logic        d2v_evt_ready;

  vmsg_mbox #(
    .HDR_FORMAT(HDR_FORMAT),
    .MSG_SIZE  (MSG_SIZE),
    .DEPTH     (TO_DEV_DEPTH),
    .TO_DEVICE (1'b1),
    .NUM_DEVS  (NUM_DEVS),
    .NUM_VQS   (NUM_VQS)
  ) u_mbox_to_dev (
    .clk_i             (clk_i),
    .rst_ni            (rst_ni),
    .tx_ctrl_req_i     (drv_hwif_out.TX_CTRL.req),
    .tx_ctrl_commit_i  (drv_hwif_out.TX_CTRL.wr_data.COMMIT && drv_hwif_out.TX_CTRL.wr_biten.COMMIT),
    .tx_ctrl_discard_i (drv_hwif_out.TX_CTRL.wr_data.DISCARD && drv_hwif_out.TX_CTRL.wr_biten.DISCARD),
    .tx_ctrl_ack_o     (d2v_tx_ctrl_ack),
    .tx_ctrl_err_o     (d2v_tx_ctrl_err),
    .tx_win_req_i      (drv_hwif_out.TX_MSG.req),
    .tx_win_we_i       (drv_hwif_out.TX_MSG.req_is_wr),
    .tx_win_word_i     (drv_hwif_out.TX_MSG.addr[7:2]),
    .tx_win_wdata_i    (drv_hwif_out.TX_MSG.wr_data),
    .tx_win_wmask_i    (drv_hwif_out.TX_MSG.wr_biten),
    .tx_win_rd_ack_o   (d2v_tx_win_rd_ack),
    .tx_win_wr_ack_o   (d2v_tx_win_wr_ack),
    .tx_win_err_o      (d2v_tx_win_err),
    .tx_count_o        (d2v_tx_count),
    .tx_full_o         (d2v_tx_full),
    .tx_staged_len_o   (d2v_tx_staged_len),
    .tx_err_code_o     (d2v_tx_err_code),
    .tx_accepted_o     (d2v_tx_accepted),
    .tx_rej_o          (d2v_tx_rej),
    .tx_overflow_o     (d2v_tx_overflow),
    .tx_doorbell_o     (d2v_tx_doorbell),
    .tx_err_irq_o      (d2v_tx_err_irq),
    .rx_ctrl_req_i     (dev_hwif_out.RX_CTRL.req),
    .rx_ctrl_pop_i     (dev_hwif_out.RX_CTRL.wr_data.POP && dev_hwif_out.RX_CTRL.wr_biten.POP),
    .rx_ctrl_ack_o     (d2v_rx_ctrl_ack),
    .rx_ctrl_err_o     (d2v_rx_ctrl_err),
    .rx_win_req_i      (dev_hwif_out.RX_MSG.req),
    .rx_win_we_i       (dev_hwif_out.RX_MSG.req_is_wr),
    .rx_win_word_i     (dev_hwif_out.RX_MSG.addr[7:2]),
    .rx_win_rd_ack_o   (d2v_rx_win_rd_ack),
    .rx_win_wr_ack_o   (d2v_rx_win_wr_ack),
    .rx_win_rdata_o    (d2v_rx_win_rdata),
    .rx_win_err_o      (d2v_rx_win_err),
    .rx_count_o        (d2v_rx_count),
    .rx_empty_o        (d2v_rx_empty),
    .rx_head_len_o     (d2v_rx_head_len),
    .rx_popped_o       (d2v_rx_popped),
    .rx_underflow_o    (d2v_rx_underflow),
    .rx_msg_irq_o      (d2v_rx_msg_irq),
    .kick_valid_o      (kick_valid),
    .kick_dev_o        (kick_dev),
    .kick_vq_o         (kick_vq),
    .kick_data_o       (kick_data),
    .evt_valid_i       (1'b0),
    .evt_ready_o       (d2v_evt_ready),
    .evt_dev_id_i      (16'h0),
    .evt_vq_i          (16'h0)
  );

  // ---------------------------------------------------------------------------
  // Mailbox device -> driver (device writes TX, driver reads RX), with the
  // engine's EVENT_USED events merged into the driver's RX head
  // ---------------------------------------------------------------------------
  logic        v2d_tx_ctrl_ack, v2d_tx_ctrl_err;
  logic        v2d_tx_win_rd_ack, v2d_tx_win_wr_ack, v2d_tx_win_err;
  logic [8:0]  v2d_tx_count, v2d_tx_staged_len;
  logic        v2d_tx_full;
  logic [3:0]  v2d_tx_err_code;
  logic        v2d_tx_accepted, v2d_tx_overflow, v2d_tx_doorbell, v2d_tx_err_irq;
  logic [6:1]  v2d_tx_rej;
  logic        v2d_rx_ctrl_ack, v2d_rx_ctrl_err;
  logic        v2d_rx_win_rd_ack, v2d_rx_win_wr_ack, v2d_rx_win_err;
  logic [31:0] v2d_rx_win_rdata;
  logic [8:0]  v2d_rx_count, v2d_rx_head_len;
  logic        v2d_rx_empty, v2d_rx_popped, v2d_rx_underflow, v2d_rx_msg_irq;
  logic        v2d_kick_valid;
  logic [15:0] v2d_kick_dev, v2d_kick_vq;
  logic [31:0] v2d_kick_data;

  // event stream from the engine
  logic        evt_valid, evt_ready;
  logic [15:0] evt_dev_id, evt_vq;

  vmsg_mbox #(
    .HDR_FORMAT(HDR_FORMAT),
    .MSG_SIZE  (MSG_SIZE),
    .DEPTH     (TO_DRV_DEPTH),
    .TO_DEVICE (1'b0),
    .NUM_DEVS  (NUM_DEVS),
    .NUM_VQS   (NUM_VQS)
  ) u_mbox_to_drv (
    .clk_i             (clk_i),
    .rst_ni            (rst_ni),
    .tx_ctrl_req_i     (dev_hwif_out.TX_CTRL.req),
    .tx_ctrl_commit_i  (dev_hwif_out.TX_CTRL.wr_data.COMMIT && dev_hwif_out.TX_CTRL.wr_biten.COMMIT),
    .tx_ctrl_discard_i (dev_hwif_out.TX_CTRL.wr_data.DISCARD && dev_hwif_out.TX_CTRL.wr_biten.DISCARD),
    .tx_ctrl_ack_o     (v2d_tx_ctrl_ack),
    .tx_ctrl_err_o     (v2d_tx_ctrl_err),
    .tx_win_req_i      (dev_hwif_out.TX_MSG.req),
    .tx_win_we_i       (dev_hwif_out.TX_MSG.req_is_wr),
    .tx_win_word_i     (dev_hwif_out.TX_MSG.addr[7:2]),
    .tx_win_wdata_i    (dev_hwif_out.TX_MSG.wr_data),
    .tx_win_wmask_i    (dev_hwif_out.TX_MSG.wr_biten),
    .tx_win_rd_ack_o   (v2d_tx_win_rd_ack),
    .tx_win_wr_ack_o   (v2d_tx_win_wr_ack),
    .tx_win_err_o      (v2d_tx_win_err),
    .tx_count_o        (v2d_tx_count),
    .tx_full_o         (v2d_tx_full),
    .tx_staged_len_o   (v2d_tx_staged_len),
    .tx_err_code_o     (v2d_tx_err_code),
    .tx_accepted_o     (v2d_tx_accepted),
    .tx_rej_o          (v2d_tx_rej),
    .tx_overflow_o     (v2d_tx_overflow),
    .tx_doorbell_o     (v2d_tx_doorbell),
    .tx_err_irq_o      (v2d_tx_err_irq),
    .rx_ctrl_req_i     (drv_hwif_out.RX_CTRL.req),
    .rx_ctrl_pop_i     (drv_hwif_out.RX_CTRL.wr_data.POP && drv_hwif_out.RX_CTRL.wr_biten.POP),
    .rx_ctrl_ack_o     (v2d_rx_ctrl_ack),
    .rx_ctrl_err_o     (v2d_rx_ctrl_err),
    .rx_win_req_i      (drv_hwif_out.RX_MSG.req),
    .rx_win_we_i       (drv_hwif_out.RX_MSG.req_is_wr),
    .rx_win_word_i     (drv_hwif_out.RX_MSG.addr[7:2]),
    .rx_win_rd_ack_o   (v2d_rx_win_rd_ack),
    .rx_win_wr_ack_o   (v2d_rx_win_wr_ack),
    .rx_win_rdata_o    (v2d_rx_win_rdata),
    .rx_win_err_o      (v2d_rx_win_err),
    .rx_count_o        (v2d_rx_count),
    .rx_empty_o        (v2d_rx_empty),
    .rx_head_len_o     (v2d_rx_head_len),
    .rx_popped_o       (v2d_rx_popped),
    .rx_underflow_o    (v2d_rx_underflow),
    .rx_msg_irq_o      (v2d_rx_msg_irq),
    .kick_valid_o      (v2d_kick_valid),
    .kick_dev_o        (v2d_kick_dev),
    .kick_vq_o         (v2d_kick_vq),
    .kick_data_o       (v2d_kick_data),
    .evt_valid_i       (evt_valid),
    .evt_ready_o       (evt_ready),
    .evt_dev_id_i      (evt_dev_id),
    .evt_vq_i          (evt_vq)
  );

  // ---------------------------------------------------------------------------
  // Doorbells (device port DB_PENDING / DB_DATA)
  // ---------------------------------------------------------------------------
  logic        db_pend_rd_ack, db_pend_wr_ack, db_pend_err;
  logic [31:0] db_pend_rdata;
  logic        db_data_rd_ack, db_data_wr_ack, db_data_err;
  logic [31:0] db_data_rdata;
  logic        db_kicks, db_coalesced, db_irq;

  vmsg_doorbell #(
    .NUM_DEVS (NUM_DEVS),
    .NUM_VQS  (NUM_VQS)
  ) u_doorbell (
    .clk_i         (clk_i),
    .rst_ni        (rst_ni),
    .kick_valid_i  (kick_valid),
    .kick_dev_i    (kick_dev),
    .kick_vq_i     (kick_vq),
    .kick_data_i   (kick_data),
    .pend_req_i    (dev_hwif_out.DB_PENDING.req),
    .pend_we_i     (dev_hwif_out.DB_PENDING.req_is_wr),
    .pend_word_i   (dev_hwif_out.DB_PENDING.addr[6:2]),
    .pend_wdata_i  (dev_hwif_out.DB_PENDING.wr_data),
    .pend_wmask_i  (dev_hwif_out.DB_PENDING.wr_biten),
    .pend_rd_ack_o (db_pend_rd_ack),
    .pend_rdata_o  (db_pend_rdata),
    .pend_wr_ack_o (db_pend_wr_ack),
    .pend_err_o    (db_pend_err),
    .data_req_i    (dev_hwif_out.DB_DATA.req),
    .data_we_i     (dev_hwif_out.DB_DATA.req_is_wr),
    .data_word_i   (dev_hwif_out.DB_DATA.addr[11:2]),
    .data_rd_ack_o (db_data_rd_ack),
    .data_rdata_o  (db_data_rdata),
    .data_wr_ack_o (db_data_wr_ack),
    .data_err_o    (db_data_err),
    .kicks_o       (db_kicks),
    .coalesced_o   (db_coalesced),
    .irq_o         (db_irq)
  );

  // ---------------------------------------------------------------------------
  // Used-index engine (ENG window 0x2000-0x3FFF of the device port)
  // ---------------------------------------------------------------------------
  logic        eng_rd_ack, eng_wr_ack, eng_err;
  logic [31:0] eng_rdata;
  logic        eng_err_irq;

  vmsg_used_engine #(
    .NUM_Q      (ENG_QUEUES),
    .AXI_DATA_W (AXI_DATA_W),
    .AXI_ADDR_W (AXI_ADDR_W),
    .AXI_ID_W   (AXI_ID_W),
    .AXI_ID     (AXI_ID),
    .AXI_CACHE  (AXI_CACHE),
    .AXI_PROT   (AXI_PROT),
    .MAX_BURST_BEATS (MAX_BURST_BEATS),
    .MEM_TIMEOUT     (MEM_TIMEOUT)
  ) u_engine (
    .clk_i,
    .rst_ni,
    .s_reg_req_i    (dev_hwif_out.ENG.req),
    .s_reg_addr_i   (dev_hwif_out.ENG.addr),
    .s_reg_we_i     (dev_hwif_out.ENG.req_is_wr),
    .s_reg_wdata_i  (dev_hwif_out.ENG.wr_data),
    .s_reg_wmask_i  (dev_hwif_out.ENG.wr_biten),
    .s_reg_rd_ack_o (eng_rd_ack),
    .s_reg_rdata_o  (eng_rdata),
    .s_reg_wr_ack_o (eng_wr_ack),
    .s_reg_err_o    (eng_err),
    .s_cpl_valid_i  (s_cpl_valid),
    .s_cpl_ready_o  (s_cpl_ready),
    .s_cpl_queue_i  (s_cpl_queue),
    .s_cpl_id_i     (s_cpl_id),
    .s_cpl_len_i    (s_cpl_len),
    .m_axi_awid, .m_axi_awaddr, .m_axi_awlen, .m_axi_awsize, .m_axi_awburst,
    .m_axi_awlock, .m_axi_awcache, .m_axi_awprot, .m_axi_awvalid, .m_axi_awready,
    .m_axi_wdata, .m_axi_wstrb, .m_axi_wlast, .m_axi_wvalid, .m_axi_wready,
    .m_axi_bid, .m_axi_bresp, .m_axi_bvalid, .m_axi_bready,
    .m_axi_arid, .m_axi_araddr, .m_axi_arlen, .m_axi_arsize, .m_axi_arburst,
    .m_axi_arlock, .m_axi_arcache, .m_axi_arprot, .m_axi_arvalid, .m_axi_arready,
    .m_axi_rid, .m_axi_rdata, .m_axi_rresp, .m_axi_rlast, .m_axi_rvalid, .m_axi_rready,
    .evt_valid_o    (evt_valid),
    .evt_ready_i    (evt_ready),
    .evt_dev_id_o   (evt_dev_id),
    .evt_vq_o       (evt_vq),
    .err_irq_o      (eng_err_irq)
  );

  // ---------------------------------------------------------------------------
  // Driver register block inputs
  // ---------------------------------------------------------------------------
  always_comb begin
    drv_hwif_in.BUS_INFO.MSG_SIZE.next = 16'(MSG_SIZE);
    drv_hwif_in.BUS_INFO.HDR_FORMAT.next = 4'(HDR_FORMAT);
    drv_hwif_in.CAPS.TX_DEPTH.next     = 8'(TO_DEV_DEPTH);
    drv_hwif_in.CAPS.RX_DEPTH.next     = 8'(TO_DRV_DEPTH);
    drv_hwif_in.CAPS.NUM_DEVS.next     = 8'(NUM_DEVS);
    drv_hwif_in.CAPS.NUM_VQS.next      = 8'(NUM_VQS);

    // INTR_TEST pulses set the state bits like the events do.
    drv_hwif_in.INTR_STATE.RX_MSG.next = v2d_rx_msg_irq || drv_hwif_out.INTR_TEST.RX_MSG.value;
    drv_hwif_in.INTR_STATE.TX_ERR.next = d2v_tx_err_irq || drv_hwif_out.INTR_TEST.TX_ERR.value;

    // writer side: mailbox to device
    drv_hwif_in.TX_CTRL.wr_ack           = d2v_tx_ctrl_ack;
    drv_hwif_in.TX_STATUS.COUNT.next     = d2v_tx_count;
    drv_hwif_in.TX_STATUS.FULL.next      = d2v_tx_full;
    drv_hwif_in.TX_STATUS.STAGED_LEN.next = d2v_tx_staged_len;
    drv_hwif_in.TX_ERROR.CODE.next       = d2v_tx_err_code;
    drv_hwif_in.TX_ERROR.OVERFLOW.hwset  = d2v_tx_overflow;
    drv_hwif_in.TX_ACCEPTED.VALUE.incr       = d2v_tx_accepted;
    drv_hwif_in.TX_REJ_SIZE_SMALL.VALUE.incr = d2v_tx_rej[ERR_SIZE_SMALL];
    drv_hwif_in.TX_REJ_SIZE_LARGE.VALUE.incr = d2v_tx_rej[ERR_SIZE_LARGE];
    drv_hwif_in.TX_REJ_TYPE_RSVD.VALUE.incr  = d2v_tx_rej[ERR_TYPE_RSVD];
    drv_hwif_in.TX_REJ_TYPE_DIR.VALUE.incr   = d2v_tx_rej[ERR_TYPE_DIR];
    drv_hwif_in.TX_REJ_OVERFLOW.VALUE.incr   = d2v_tx_rej[ERR_OVERFLOW];
    drv_hwif_in.TX_REJ_DB_RANGE.VALUE.incr   = d2v_tx_rej[ERR_DB_RANGE];
    drv_hwif_in.TX_DOORBELLS.VALUE.incr      = d2v_tx_doorbell;
    drv_hwif_in.TX_MSG.rd_ack  = d2v_tx_win_rd_ack;
    drv_hwif_in.TX_MSG.rd_data = '0;
    drv_hwif_in.TX_MSG.wr_ack  = d2v_tx_win_wr_ack;

    // reader side: mailbox to driver
    drv_hwif_in.RX_CTRL.wr_ack             = v2d_rx_ctrl_ack;
    drv_hwif_in.RX_STATUS.COUNT.next       = v2d_rx_count;
    drv_hwif_in.RX_STATUS.EMPTY.next       = v2d_rx_empty;
    drv_hwif_in.RX_STATUS.HEAD_LEN.next    = v2d_rx_head_len;
    drv_hwif_in.RX_POPPED.VALUE.incr       = v2d_rx_popped;
    drv_hwif_in.RX_UNDERFLOW.VALUE.incr    = v2d_rx_underflow;
    drv_hwif_in.RX_MSG.rd_ack  = v2d_rx_win_rd_ack;
    drv_hwif_in.RX_MSG.rd_data = v2d_rx_win_rdata;
    drv_hwif_in.RX_MSG.wr_ack  = v2d_rx_win_wr_ack;
  end

  // Errors of the external blocks of the driver port (only the block that
  // acks drives its error bit).
  assign drv_ext_err = d2v_tx_ctrl_err || d2v_tx_win_err || v2d_rx_ctrl_err || v2d_rx_win_err;

  // ---------------------------------------------------------------------------
  // Device register block inputs
  // ---------------------------------------------------------------------------
  always_comb begin
    dev_hwif_in.BUS_INFO.MSG_SIZE.next = 16'(MSG_SIZE);
    dev_hwif_in.BUS_INFO.HDR_FORMAT.next = 4'(HDR_FORMAT);
    dev_hwif_in.CAPS.TX_DEPTH.next     = 8'(TO_DRV_DEPTH);
    dev_hwif_in.CAPS.RX_DEPTH.next     = 8'(TO_DEV_DEPTH);
    dev_hwif_in.CAPS.NUM_DEVS.next     = 8'(NUM_DEVS);
    dev_hwif_in.CAPS.NUM_VQS.next      = 8'(NUM_VQS);

    dev_hwif_in.INTR_STATE.RX_MSG.next   = d2v_rx_msg_irq || dev_hwif_out.INTR_TEST.RX_MSG.value;
    dev_hwif_in.INTR_STATE.TX_ERR.next   = v2d_tx_err_irq || dev_hwif_out.INTR_TEST.TX_ERR.value;
    dev_hwif_in.INTR_STATE.DOORBELL.next = db_irq || dev_hwif_out.INTR_TEST.DOORBELL.value;
    dev_hwif_in.INTR_STATE.ENG_ERR.next  = eng_err_irq || dev_hwif_out.INTR_TEST.ENG_ERR.value;

    // writer side: mailbox to driver
    dev_hwif_in.TX_CTRL.wr_ack            = v2d_tx_ctrl_ack;
    dev_hwif_in.TX_STATUS.COUNT.next      = v2d_tx_count;
    dev_hwif_in.TX_STATUS.FULL.next       = v2d_tx_full;
    dev_hwif_in.TX_STATUS.STAGED_LEN.next = v2d_tx_staged_len;
    dev_hwif_in.TX_ERROR.CODE.next        = v2d_tx_err_code;
    dev_hwif_in.TX_ERROR.OVERFLOW.hwset   = v2d_tx_overflow;
    dev_hwif_in.TX_ACCEPTED.VALUE.incr       = v2d_tx_accepted;
    dev_hwif_in.TX_REJ_SIZE_SMALL.VALUE.incr = v2d_tx_rej[ERR_SIZE_SMALL];
    dev_hwif_in.TX_REJ_SIZE_LARGE.VALUE.incr = v2d_tx_rej[ERR_SIZE_LARGE];
    dev_hwif_in.TX_REJ_TYPE_RSVD.VALUE.incr  = v2d_tx_rej[ERR_TYPE_RSVD];
    dev_hwif_in.TX_REJ_TYPE_DIR.VALUE.incr   = v2d_tx_rej[ERR_TYPE_DIR];
    dev_hwif_in.TX_REJ_OVERFLOW.VALUE.incr   = v2d_tx_rej[ERR_OVERFLOW];
    dev_hwif_in.TX_REJ_DB_RANGE.VALUE.incr   = v2d_tx_rej[ERR_DB_RANGE];
    dev_hwif_in.TX_MSG.rd_ack  = v2d_tx_win_rd_ack;
    dev_hwif_in.TX_MSG.rd_data = '0;
    dev_hwif_in.TX_MSG.wr_ack  = v2d_tx_win_wr_ack;

    // reader side: mailbox to device
    dev_hwif_in.RX_CTRL.wr_ack          = d2v_rx_ctrl_ack;
    dev_hwif_in.RX_STATUS.COUNT.next    = d2v_rx_count;
    dev_hwif_in.RX_STATUS.EMPTY.next    = d2v_rx_empty;
    dev_hwif_in.RX_STATUS.HEAD_LEN.next = d2v_rx_head_len;
    dev_hwif_in.RX_POPPED.VALUE.incr    = d2v_rx_popped;
    dev_hwif_in.RX_UNDERFLOW.VALUE.incr = d2v_rx_underflow;
    dev_hwif_in.RX_MSG.rd_ack  = d2v_rx_win_rd_ack;
    dev_hwif_in.RX_MSG.rd_data = d2v_rx_win_rdata;
    dev_hwif_in.RX_MSG.wr_ack  = d2v_rx_win_wr_ack;

    // doorbells
    dev_hwif_in.DB_KICKS.VALUE.incr     = db_kicks;
    dev_hwif_in.DB_COALESCED.VALUE.incr = db_coalesced;
    dev_hwif_in.DB_PENDING.rd_ack  = db_pend_rd_ack;
    dev_hwif_in.DB_PENDING.rd_data = db_pend_rdata;
    dev_hwif_in.DB_PENDING.wr_ack  = db_pend_wr_ack;
    dev_hwif_in.DB_DATA.rd_ack     = db_data_rd_ack;
    dev_hwif_in.DB_DATA.rd_data    = db_data_rdata;
    dev_hwif_in.DB_DATA.wr_ack     = db_data_wr_ack;

    // engine
    dev_hwif_in.ENG.rd_ack  = eng_rd_ack;
    dev_hwif_in.ENG.rd_data = eng_rdata;
    dev_hwif_in.ENG.wr_ack  = eng_wr_ack;
  end

  assign dev_ext_err = v2d_tx_ctrl_err || v2d_tx_win_err || d2v_rx_ctrl_err || d2v_rx_win_err
                    || db_pend_err || db_data_err || eng_err;

  // Signals that exist for symmetry of the two mailbox instances, and
  // register-block outputs this design has no use for (the external blocks
  // decode words: vmsg_axil_regif only issues word-aligned addresses).
  logic unused_sigs;
  assign unused_sigs = ^{d2v_evt_ready,
                         drv_hwif_out.TX_MSG.addr[1:0], drv_hwif_out.RX_MSG.addr[1:0],
                         dev_hwif_out.TX_MSG.addr[1:0], dev_hwif_out.RX_MSG.addr[1:0],
                         dev_hwif_out.DB_PENDING.addr[1:0], dev_hwif_out.DB_DATA.addr[1:0],
                         v2d_tx_rej[ERR_DB_RANGE], v2d_tx_doorbell,
                         v2d_kick_valid, v2d_kick_dev, v2d_kick_vq, v2d_kick_data,
                         drv_hwif_out.TX_CTRL.req_is_wr, drv_hwif_out.TX_CTRL.wr_data,
                         drv_hwif_out.TX_CTRL.wr_biten,
                         drv_hwif_out.RX_CTRL.req_is_wr, drv_hwif_out.RX_CTRL.wr_data,
                         drv_hwif_out.RX_CTRL.wr_biten,
                         drv_hwif_out.RX_MSG.wr_data, drv_hwif_out.RX_MSG.wr_biten,
                         dev_hwif_out.TX_CTRL.req_is_wr, dev_hwif_out.TX_CTRL.wr_data,
                         dev_hwif_out.TX_CTRL.wr_biten,
                         dev_hwif_out.RX_CTRL.req_is_wr, dev_hwif_out.RX_CTRL.wr_data,
                         dev_hwif_out.RX_CTRL.wr_biten,
                         dev_hwif_out.RX_MSG.wr_data, dev_hwif_out.RX_MSG.wr_biten,
                         dev_hwif_out.DB_DATA.wr_data, dev_hwif_out.DB_DATA.wr_biten};

endmodule

`default_nettype wire
